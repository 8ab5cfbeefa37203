"""The token signing keys: made, rotated, published and pruned; cached per worker.

The Index signs registry tokens (and its own login tokens) with one *active* key (ES256 by
default, ``INDEX_TOKEN_ALGORITHM=RS256`` for new keys otherwise) and publishes the public
halves of every key whose tokens may still be in flight (api/well_known.py). The keys live in
the database (``uow.signing_keys``), the private key as PKCS#8 PEM encrypted with a
password derived from ``INDEX_SECRET_KEY``::

    password = HMAC-SHA256(key=INDEX_SECRET_KEY, msg="wharf-index.signing-key.v1").hexdigest()

so a database dump alone signs nothing; a changed secret makes the key unreadable
(:class:`~wharf_index.domain.errors.SigningKeysUnreadable`, naming ``INDEX_SECRET_KEY``).

- Bootstrapping (:func:`ensure_active`): when there is no active key, one is made and stored
  with ``INSERT ... ON CONFLICT DO NOTHING`` against the one-active-key index, then read
  back, so concurrent starters (``wharf-index migrate``, gunicorn workers) keep one key.
- Rotation (:func:`rotate`, ``wharf-index keys rotate``): in one transaction the active key
  is retired and a new one stored. The retired key stays published for
  :func:`published_for` seconds: the longest lifetime of a token it signed
  (``INDEX_TOKEN_TTL``, or the registry agent's 60 s) plus ``INDEX_TOKEN_LEEWAY``, the
  verifiers' clock-skew allowance. Pruning (services/housekeeping.py) then deletes it.
- :class:`KeyRing`: what one worker process uses. It caches the active key and the published
  set for :data:`REFRESH_AFTER` seconds, so every worker signs with a rotated key within
  that time without a restart; a token naming a key the cache does not know makes it reload
  the published set (at most once per :data:`MISS_RELOAD_AFTER` seconds) before refusing.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from wharf_protocol.keys import KeySet, KeysInvalid, PublicKey, SigningKey
from wharf_protocol.tokens import TokenIssuer

from ..domain import errors
from ..domain.records import SigningKeyRecord
from .unit_of_work import UnitOfWork

PASSWORD_LABEL = b"wharf-index.signing-key.v1"
CERTIFICATE_SUBJECT = "Wharf Index token signing"
REFRESH_AFTER = 10.0  # seconds a worker signs and verifies with its cached keys
MISS_RELOAD_AFTER = 0.25  # an unknown kid reloads the published set at most this often


def key_password(secret_key: str) -> bytes:
    """The password encrypting the stored private keys (module docstring)."""
    return hmac.new(secret_key.encode(), PASSWORD_LABEL, hashlib.sha256).hexdigest().encode()


def published_for(settings, longest_ttl: int) -> int:
    """Seconds a retired key stays published: the longest token lifetime (the larger of
    ``INDEX_TOKEN_TTL`` and ``longest_ttl``) plus ``INDEX_TOKEN_LEEWAY``."""
    return max(settings.token_ttl, longest_ttl) + settings.token_leeway


def _generate(algorithm: str, password: bytes) -> tuple[SigningKey, bytes]:
    key = SigningKey.generate(algorithm, subject=CERTIFICATE_SUBJECT)
    return key, key.private_pem(password)


def _decrypt(record: SigningKeyRecord, password: bytes) -> SigningKey:
    try:
        return SigningKey.load(record.private_pem, record.certificate_pem, password)
    except KeysInvalid:
        raise errors.SigningKeysUnreadable() from None


def ensure_active(uow: UnitOfWork, password: bytes, algorithm: str) -> SigningKeyRecord:
    """The active key's record, made first (of ``algorithm``) when there is none; race-safe
    between processes (module docstring)."""
    with uow.reading():
        record = uow.signing_keys.active()
    if record is not None:
        return record
    key, private_pem = _generate(algorithm, password)
    with uow:
        uow.signing_keys.add_active(key.kid, key.algorithm, private_pem, key.certificate_pem())
    with uow.reading():
        record = uow.signing_keys.active()
    if record is None:  # retired by a concurrent rotation in between: its successor is active
        return ensure_active(uow, password, algorithm)
    return record


def rotate(
    uow: UnitOfWork, password: bytes, algorithm: str, published_seconds: int
) -> tuple[str | None, SigningKey]:
    """Retire the active key (published ``published_seconds`` more) and store a new one of
    ``algorithm`` that signs from now; return (the retired kid or None, the new key).
    StateConflict when a concurrent rotation stored its new key first."""
    key, private_pem = _generate(algorithm, password)
    with uow:
        retired = uow.signing_keys.retire_active(published_seconds)
        if not uow.signing_keys.add_active(
            key.kid, key.algorithm, private_pem, key.certificate_pem()
        ):
            raise errors.StateConflict("another rotation made a new key at the same time")
    return retired, key


def list_keys(uow: UnitOfWork) -> list[SigningKeyRecord]:
    """Every stored key, oldest first (their private halves are never shown)."""
    with uow.reading():
        return uow.signing_keys.list()


def public_keys(records: Iterable[SigningKeyRecord]) -> KeySet:
    """The published form of stored keys (their certificates; nothing is decrypted)."""
    return KeySet.from_pem_bundle(b"".join(r.certificate_pem for r in records))


class KeyRing:
    """One process's view of the keys, cached (module docstring). Thread-safe."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        password: bytes,
        algorithm: str,
        *,
        refresh_after: float = REFRESH_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow_factory, self._password, self.algorithm = uow_factory, password, algorithm
        self.refresh_after, self._clock = refresh_after, clock
        self._lock = threading.Lock()
        self._signing: SigningKey | None = None
        self._signing_at = -math.inf
        self._published = KeySet()
        self._published_at = -math.inf

    def __repr__(self) -> str:
        return f"<KeyRing algorithm={self.algorithm}>"

    @classmethod
    def from_settings(cls, settings, uow_factory: Callable[[], UnitOfWork]) -> KeyRing:
        return cls(uow_factory, key_password(settings.secret_key), settings.token_algorithm)

    def _stale(self, loaded_at: float, after: float) -> bool:
        return self._clock() - loaded_at >= after

    def signing_key(self) -> SigningKey:
        """The active key (made when there is none); SigningKeysUnreadable when it cannot be
        decrypted; DatabaseUnavailable."""
        if self._signing is None or self._stale(self._signing_at, self.refresh_after):
            with self._lock:
                if self._signing is None or self._stale(self._signing_at, self.refresh_after):
                    record = ensure_active(self._uow_factory(), self._password, self.algorithm)
                    if self._signing is None or self._signing.kid != record.kid:
                        self._signing = _decrypt(record, self._password)
                    self._signing_at = self._clock()
        return self._signing

    def published(self) -> KeySet:
        """The keys whose tokens may be in flight: the active one and the retired ones
        still published (the active key is made first when there is none)."""
        if self._stale(self._published_at, self.refresh_after):
            self._reload(self.refresh_after)
        return self._published

    def _reload(self, after: float) -> None:
        with self._lock:
            if not self._stale(self._published_at, after):
                return
            uow = self._uow_factory()
            with uow.reading():
                records = uow.signing_keys.published()
            if not any(r.retired_at is None for r in records):
                ensure_active(uow, self._password, self.algorithm)
                with uow.reading():
                    records = uow.signing_keys.published()
            self._published, self._published_at = public_keys(records), self._clock()

    def find(self, header: Mapping[str, Any]) -> PublicKey | None:
        """The published key a token's JWS header names, or None (TokenVerifier's finder);
        an unknown key reloads the published set first (module docstring)."""
        key = self.published().find(header)
        if key is None:
            self._reload(MISS_RELOAD_AFTER)
            key = self._published.find(header)
        return key

    def forget(self) -> None:
        """Drop the cache: the next use reads the database (after a rotation here)."""
        with self._lock:
            self._signing, self._signing_at, self._published_at = None, -math.inf, -math.inf

    def issuer(self, name: str, ttl: int) -> TokenIssuer:
        """A token issuer signing with this ring's active key (read per token), as ``name``."""
        return TokenIssuer(self.signing_key, name, ttl=ttl)
