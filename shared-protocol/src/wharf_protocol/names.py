"""Repository names, tags and references (OCI distribution spec, "Pulling manifests").

Grammar from the distribution spec (section "Pulling manifests", definitions of ``<name>``
and ``<reference>``)::

    name      ::= [a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(\\/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*
    tag       ::= [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
    reference ::= tag | digest

The grammar already excludes upper case, empty components (``a//b``), ``..``, and leading or
trailing slashes; a length limit (255 characters by default, like the reference registry's
``NAME_INVALID`` check; the spec lets registries impose one) is applied on top. The first
path component is the *namespace* (a user or an organisation in the Index).

One-part names are Docker Hub's: ``app`` is ``library/app`` (:func:`full_repository_name`).
Docker and containers/image add ``library/`` themselves for docker.io only and send ``app``
as it is to any other host, so Wharf maps it where names enter: the registry's URL paths
(storage, scopes, events and the catalog then only ever see ``library/app``) and the
scopes of the token endpoint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .digests import Digest

__all__ = [
    "MAX_NAME_LENGTH",
    "REPOSITORY_NAME_RE",
    "TAG_RE",
    "NameInvalid",
    "Reference",
    "ReferenceInvalid",
    "LIBRARY_NAMESPACE",
    "TagInvalid",
    "full_repository_name",
    "is_valid_repository_name",
    "is_valid_tag",
    "namespace_of",
    "parse_reference",
    "validate_repository_name",
    "validate_tag",
]

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"

#: Repository name grammar (distribution spec, "Pulling manifests", ``<name>``).
REPOSITORY_NAME_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")

#: Tag grammar (distribution spec, "Pulling manifests", ``<reference>`` as a tag).
TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")

#: Default maximum repository name length (characters).
MAX_NAME_LENGTH = 255


class NameInvalid(ValueError):
    """A repository name does not match the grammar or is too long (``NAME_INVALID``)."""


class TagInvalid(ValueError):
    """A tag does not match the tag grammar (``MANIFEST_INVALID``/``NAME_INVALID`` contexts)."""


class ReferenceInvalid(ValueError):
    """A manifest reference is neither a valid tag nor a digest."""


def validate_repository_name(name: str, max_length: int = MAX_NAME_LENGTH) -> str:
    """Return ``name`` unchanged if it is a valid repository name.

    Raises :class:`NameInvalid` if it is not a string, is empty, is longer than
    ``max_length`` characters, or does not match :data:`REPOSITORY_NAME_RE` (which rules out
    upper case, empty components, ``..`` and leading/trailing slashes).
    """
    if not isinstance(name, str) or not name:
        raise NameInvalid("repository name must be a non-empty string")
    if len(name) > max_length:
        raise NameInvalid(f"repository name longer than {max_length} characters")
    if not REPOSITORY_NAME_RE.fullmatch(name):
        raise NameInvalid(f"invalid repository name: {name!r}")
    return name


#: The namespace of one-part names (Docker Hub's "official images").
LIBRARY_NAMESPACE = "library"


def full_repository_name(name: str) -> str:
    """Return ``library/<name>`` for a one-part name, any other name unchanged."""
    return name if "/" in name else f"{LIBRARY_NAMESPACE}/{name}"


def is_valid_repository_name(name: str, max_length: int = MAX_NAME_LENGTH) -> bool:
    """Tell whether ``name`` passes :func:`validate_repository_name`."""
    try:
        validate_repository_name(name, max_length)
    except NameInvalid:
        return False
    return True


def validate_tag(tag: str) -> str:
    """Return ``tag`` unchanged if it matches :data:`TAG_RE`; else raise :class:`TagInvalid`."""
    if not isinstance(tag, str) or not TAG_RE.fullmatch(tag):
        raise TagInvalid(f"invalid tag: {tag!r}")
    return tag


def is_valid_tag(tag: str) -> bool:
    """Tell whether ``tag`` passes :func:`validate_tag`."""
    return isinstance(tag, str) and TAG_RE.fullmatch(tag) is not None


def namespace_of(name: str) -> str:
    """Return the first path component of a valid repository name (its namespace).

    Raises :class:`NameInvalid` if ``name`` is not a valid repository name.
    """
    return validate_repository_name(name).split("/", 1)[0]


@dataclass(frozen=True)
class Reference:
    """A manifest reference: exactly one of ``tag`` or ``digest`` is set.

    ``str(ref)`` gives the wire form. Raises :class:`ReferenceInvalid` when both or
    neither are set, or the tag is invalid.
    """

    tag: str | None = None
    digest: Digest | None = None

    def __post_init__(self) -> None:
        if (self.tag is None) == (self.digest is None):
            raise ReferenceInvalid("a reference is either a tag or a digest")
        if self.tag is not None and not is_valid_tag(self.tag):
            raise ReferenceInvalid(f"invalid tag: {self.tag!r}")

    @property
    def is_digest(self) -> bool:
        """Tell whether this reference is a digest (content-addressed)."""
        return self.digest is not None

    def __str__(self) -> str:
        return str(self.digest) if self.digest is not None else str(self.tag)


def parse_reference(ref: str) -> Reference:
    """Parse a ``<reference>`` path element: a digest if it contains ``:``, a tag otherwise.

    Distribution spec, "Pulling manifests": the reference is a tag or a digest. Raises
    :class:`~wharf_protocol.digests.UnsupportedDigest` for a well-formed digest of an
    unsupported algorithm, :class:`~wharf_protocol.digests.DigestInvalid` for a malformed
    digest, :class:`ReferenceInvalid` for anything that is neither.
    """
    if not isinstance(ref, str):
        raise ReferenceInvalid(f"invalid reference: {ref!r}")
    if ":" in ref:
        return Reference(digest=Digest.parse(ref))
    if not is_valid_tag(ref):
        raise ReferenceInvalid(f"invalid tag or digest: {ref!r}")
    return Reference(tag=ref)
