"""Make Docker's repeated Basic credentials cheap without weakening the password hash.

Docker sends the user's password (or access token) with every token request, and a
password check costs a deliberately slow scrypt. :func:`login` remembers *successful*
checks for ``ttl`` seconds (``INDEX_CREDENTIAL_CACHE_TTL``, default 60) in a bounded
in-memory map (``INDEX_CREDENTIAL_CACHE_SIZE`` entries, least recently used evicted),
per process:

- key: HMAC-SHA256(key derived from ``INDEX_SECRET_KEY``, username NUL secret); the secret
  itself is never stored, and a memory dump does not give an offline-guessable hash
  without the server key;
- value: the user id, the user's ``password_changed_at`` at the time of the check, and the
  access token id for access-token logins. Nothing else: grants are loaded fresh.

Every hit is re-checked with one indexed query (adapters/token_checks.py, which also loads
the user's grants in the same statement, and for a token request, :func:`login_for_token`,
reads the request's registry and repositories too): the user must
exist, be enabled and still have the same ``password_changed_at`` (any password change or
reset, in any process, makes the old entry fail at once: the old password stops working
immediately); an access token must still be active. A failed re-check drops the entry and
falls back to the full check. Failures are never cached; the access token's last use is
recorded at most once per ``ttl``.

A hit still honours the lock-out of its (name, client address) (services/login_throttle.py;
the same query): otherwise a guesser locked out from an address would learn a right guess
at HMAC speed whenever the owner's entry is warm in that process.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from wharf_protocol.lru import ExpiringLRU

from ..domain.errors import LoginThrottled
from ..domain.model import Grants, Principal
from ..domain.records import CredentialState, IssuanceLookup
from . import authentication, login_throttle, metrics
from .unit_of_work import UnitOfWork

_KEY_LABEL = b"wharf-index.credential-cache.v1"


def _expires(entry: CachedCredential) -> float:
    return entry.expires


@dataclass(frozen=True)
class CachedCredential:
    user_id: int
    password_changed_at: datetime | None
    access_token_id: int | None
    expires: float  # monotonic deadline


class CredentialCache:
    """A thread-safe TTL + LRU map from keyed credential hashes to :class:`CachedCredential`.

    ``ttl`` 0 or ``size`` 0 disables caching.
    """

    def __init__(
        self,
        secret_key: str,
        ttl: int = 60,
        size: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._key = hmac.new(secret_key.encode(), _KEY_LABEL, hashlib.sha256).digest()
        self.ttl, self.size, self._clock = ttl, size, clock
        self._entries: ExpiringLRU[bytes, CachedCredential] = ExpiringLRU(max(size, 1), _expires)

    def __repr__(self) -> str:
        return f"<CredentialCache ttl={self.ttl} size={self.size} entries={len(self._entries)}>"

    def key(self, username: str, secret: str) -> bytes:
        message = (
            username.encode("utf-8", "surrogatepass")
            + b"\0"
            + secret.encode("utf-8", "surrogatepass")
        )
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def get(self, key: bytes) -> CachedCredential | None:
        return self._entries.get(key, self._clock())

    def put(
        self,
        key: bytes,
        user_id: int,
        password_changed_at: datetime | None,
        access_token_id: int | None = None,
    ) -> None:
        if self.ttl <= 0 or self.size <= 0:
            return
        entry = CachedCredential(
            user_id, password_changed_at, access_token_id, self._clock() + self.ttl
        )
        self._entries.put(key, entry)

    def drop(self, key: bytes) -> None:
        self._entries.drop(key)

    def __len__(self) -> int:
        return len(self._entries)


def login(
    uow: UnitOfWork,
    cache: CredentialCache,
    username: str,
    secret: str,
    *,
    address: str | None = None,
) -> Principal:
    """Authenticate ``username`` with a password or access token, through the cache;
    ``address`` is the client's (for the throttle).

    Call outside an open ``with uow``. Raises AuthenticationFailed or LoginThrottled (as
    services.authentication.authenticate does).
    """
    key = cache.key(username, secret)
    entry = cache.get(key)
    if entry is not None:
        principal = _revalidate(uow, entry, username, address)
        if principal is not None:
            metrics.credential_cache(hit=True)
            return principal
        cache.drop(key)
    metrics.credential_cache(hit=False)  # checked in full (login_for_token's misses too)
    state = None
    if authentication.could_be_username(username):
        with uow:  # read the generation *before* the check: a change in between fails safe
            state = uow.token_checks.credential_state(username=username)
    principal = authentication.authenticate(uow, username, secret, address=address)
    if state is not None and state.user.id == principal.user.id:
        cache.put(key, principal.user.id, state.password_changed_at, principal.access_token_id)
    return principal


def login_for_token(
    uow: UnitOfWork,
    cache: CredentialCache,
    username: str,
    secret: str,
    *,
    address: str | None,
    service: str,
    names: list[str],
) -> tuple[Principal, IssuanceLookup | None]:
    """:func:`login` for a token request for the registry ``service`` naming the
    repositories ``names``: a cache hit is re-checked in the same statement that reads
    the request's audience and repositories (returned for services.tokens.issue; None when
    the credential was checked in full, or no registry has that name)."""
    key = cache.key(username, secret)
    entry = cache.get(key)
    if entry is not None:
        with uow.reading():  # read-only, one statement
            state, lookup = uow.token_checks.revalidation_issuance(
                entry.user_id,
                entry.access_token_id,
                name_hash=login_throttle.name_hash(username),
                address=login_throttle.stored_address(address),
                service=service,
                names=names,
            )
        principal = _principal_of(entry, state)
        if principal is not None:
            metrics.credential_cache(hit=True)
            return principal, lookup
        cache.drop(key)
    return login(uow, cache, username, secret, address=address), None


def _revalidate(
    uow: UnitOfWork, entry: CachedCredential, username: str, address: str | None
) -> Principal | None:
    with uow.reading():  # read-only, one statement: no BEGIN/COMMIT round trips
        state = uow.token_checks.revalidation(
            entry.user_id,
            entry.access_token_id,
            name_hash=login_throttle.name_hash(username),
            address=login_throttle.stored_address(address),
        )
    return _principal_of(entry, state)


def _principal_of(entry: CachedCredential, state: CredentialState | None) -> Principal | None:
    """The principal of a cache hit whose re-check read ``state``; None when the entry no
    longer holds. Raises LoginThrottled when its (name, address) is locked out."""
    if state is not None and state.locked_for:
        raise LoginThrottled(state.locked_for)
    if state is None or state.user.disabled:
        return None
    if entry.access_token_id is None:
        if state.user.is_robot or state.password_changed_at != entry.password_changed_at:
            return None
        scopes = None
    elif not state.token_active:
        return None
    else:
        scopes = state.token_scopes
    return Principal(
        user=state.user,
        grants=state.grants if state.grants is not None else Grants(),
        scopes=scopes,
        access_token_id=entry.access_token_id,
    )
