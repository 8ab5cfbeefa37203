"""Content digests: the ``algorithm:encoded`` identifiers of the OCI image and distribution specs.

Grammar (OCI image spec, "Digests"; distribution spec, "Pulling blobs")::

    digest     ::= algorithm ":" encoded
    algorithm  ::= algorithm-component (algorithm-separator algorithm-component)*
    algorithm-component ::= [a-z0-9]+
    algorithm-separator ::= [+._-]
    encoded    ::= [a-zA-Z0-9=_-]+

Registered algorithms: ``sha256`` (64 lowercase hex characters, required by the spec) and
``sha512`` (128 lowercase hex characters, optional in the spec, supported here). Any other
algorithm that matches the grammar is well formed but unsupported: :class:`UnsupportedDigest`
(the Registry answers ``DIGEST_INVALID`` or ``UNSUPPORTED`` for it). Anything else is
:class:`DigestInvalid`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import BinaryIO

__all__ = [
    "ALGORITHMS",
    "DIGEST_RE",
    "Digest",
    "DigestInvalid",
    "Hasher",
    "UnsupportedDigest",
    "digest_bytes",
    "hash_stream",
]

#: Supported algorithms and the length of their hex encoding.
ALGORITHMS: dict[str, int] = {"sha256": 64, "sha512": 128}

#: The general digest grammar (OCI image spec, "Digests").
DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")

_HEX_RE = {alg: re.compile(rf"[a-f0-9]{{{n}}}") for alg, n in ALGORITHMS.items()}


class DigestInvalid(ValueError):
    """A string is not a well-formed digest, or its encoding does not fit its algorithm."""


class UnsupportedDigest(DigestInvalid):
    """A well-formed digest uses an algorithm other than sha256/sha512."""


def _check_algorithm(algorithm: str) -> None:
    if algorithm not in ALGORITHMS:
        raise UnsupportedDigest(f"unsupported digest algorithm: {algorithm!r}")


@dataclass(frozen=True)
class Digest:
    """A validated digest value; ``str(d)`` is its canonical ``algorithm:hex`` form.

    Construction validates: an unknown algorithm raises :class:`UnsupportedDigest`, a hex
    part of the wrong length or with characters outside ``[a-f0-9]`` raises
    :class:`DigestInvalid` (OCI image spec, "Digests": sha256/sha512 encodings are lowercase hex).
    """

    algorithm: str
    hex: str

    def __post_init__(self) -> None:
        if not isinstance(self.algorithm, str) or not isinstance(self.hex, str):
            raise DigestInvalid("digest algorithm and hex must be strings")
        _check_algorithm(self.algorithm)
        if not _HEX_RE[self.algorithm].fullmatch(self.hex):
            raise DigestInvalid(
                f"invalid {self.algorithm} digest: expected {ALGORITHMS[self.algorithm]} "
                "lowercase hex characters"
            )

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @classmethod
    def parse(cls, value: str) -> Digest:
        """Parse ``algorithm:hex`` into a Digest.

        Raises :class:`UnsupportedDigest` for a well-formed digest of another algorithm,
        :class:`DigestInvalid` for anything else that is not a valid sha256/sha512 digest.
        """
        if not isinstance(value, str) or not DIGEST_RE.fullmatch(value):
            raise DigestInvalid(f"invalid digest: {value!r}")
        algorithm, _, encoded = value.partition(":")
        return cls(algorithm, encoded)


class Hasher:
    """Compute a digest incrementally while streaming (Registry uploads, spec "Pushing blobs").

    ``update(data)`` feeds bytes; ``size`` is the number of bytes fed so far; ``digest()``
    returns the :class:`Digest` of everything fed (and may be called more than once).
    Raises :class:`UnsupportedDigest` for an algorithm other than sha256/sha512.
    """

    def __init__(self, algorithm: str = "sha256") -> None:
        _check_algorithm(algorithm)
        self.algorithm = algorithm
        self._hash = hashlib.new(algorithm)
        self.size = 0

    def update(self, data: bytes) -> None:
        """Feed ``data`` into the hash and count its length."""
        self._hash.update(data)
        self.size += len(data)

    def digest(self) -> Digest:
        """Return the digest of all bytes fed so far."""
        return Digest(self.algorithm, self._hash.hexdigest())


def digest_bytes(data: bytes, algorithm: str = "sha256") -> Digest:
    """Return the digest of ``data`` (raises :class:`UnsupportedDigest` for other algorithms)."""
    hasher = Hasher(algorithm)
    hasher.update(data)
    return hasher.digest()


def hash_stream(
    fileobj: BinaryIO, algorithm: str = "sha256", chunk_size: int = 1 << 20
) -> tuple[Digest, int]:
    """Read ``fileobj`` to its end in chunks; return its digest and its size in bytes.

    Never holds more than ``chunk_size`` bytes in memory. Raises :class:`UnsupportedDigest`
    for algorithms other than sha256/sha512; I/O errors of ``fileobj`` propagate.
    """
    hasher = Hasher(algorithm)
    while chunk := fileobj.read(chunk_size):
        hasher.update(chunk)
    return hasher.digest(), hasher.size
