"""``REGISTRY_AUTH=token``: Docker token authentication with the token server's public keys.

Per request (distribution's ``registry/auth/token`` access controller, whose answers we copy):

- no ``Authorization: Bearer`` header -> 401 ``UNAUTHORIZED`` with
  ``WWW-Authenticate: Bearer realm="<realm>",service="<service>",scope="<needed scopes>"``;
- a token that is malformed, signed by a key that is not trusted, forged, expired, for
  another audience or issuer, or that the Index rejects (revoked, never issued) -> 401 with
  ``error="invalid_token"`` and the reason in the message (``token rejected: expired``);
- a valid token lacking an action the request needs -> 401 with
  ``error="insufficient_scope"`` (not 403: clients react to it by asking for a new token);
- the token's key cannot be known (the JWK Set URL does not answer), or the Index is
  unreachable (or refuses this registry's credential) with no usable cached verification ->
  503 ``INDEX_UNAVAILABLE`` (:class:`IndexUnreachable`), logged with the cause.

Verification (scenario A, steps 4-5; docs/architecture.md, "The token protocol") always
starts locally: the JWT signature (with the published public keys of :mod:`.published`;
the registry holds no key that can sign a token), ``iss``, ``aud``, ``exp`` and ``nbf``
with the leeway (:class:`wharf_protocol.tokens.TokenVerifier`). ``local`` stops there
(a foreign token server without a verify endpoint). ``remote`` then asks the Index
(``IndexClient.verify_token``) whether the token is still good (revocation), so a forged
or foreign token never reaches the Index; the answer is cached, keyed by a SHA-256 of the
token (the token itself is never stored or logged), for at most min(``exp`` + leeway,
now + TTL): a token revoked at the Index stops working within the TTL. While the Index
cannot be reached, a token verified before keeps working until it expires
(stale-if-error), so pulls survive an Index outage; a token never seen gets the 503.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import Request
from wharf_protocol.client import (
    IndexClient,
    IndexUnavailable,
    RegistryCredentialRejected,
    TokenRejected,
)
from wharf_protocol.keys import KeySet
from wharf_protocol.scopes import Scope, bearer_challenge
from wharf_protocol.tokens import Claims, KeyFinder, TokenError, TokenVerifier

from .base import AuthenticationRequired, Authenticator, Identity
from .published import KeysUnavailable

logger = logging.getLogger(__name__)

CACHE_CAPACITY = 10_000
Verify = Callable[[str], Claims]


class InvalidToken(AuthenticationRequired):
    """The bearer token is not valid (401, ``error="invalid_token"``)."""

    error = "invalid_token"


class InsufficientScope(AuthenticationRequired):
    """The token does not grant an action the request needs (401, ``insufficient_scope``)."""

    error = "insufficient_scope"

    def __init__(self, scope: Scope) -> None:
        super().__init__(f"insufficient scope: {scope} is not granted by the token")
        self.scope = scope


class IndexUnreachable(Exception):
    """The token cannot be verified now: the Index is unreachable or refuses this registry."""


class TokenAuth(Authenticator):
    """Bearer tokens verified by ``verify`` (remote or local), authorised per request."""

    name = "token"

    def __init__(self, realm: str, service: str, verify: Verify, keys: object = None) -> None:
        self.realm = realm
        self.service = service
        self.keys = keys  # the public keys verify uses (PublishedKeys), for inspection
        self._verify = verify

    def authenticate(self, request: Request) -> Identity:
        """Return the token's identity (subject and access); AuthenticationRequired if none."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationRequired("authentication required: a bearer token is needed")
        claims = self._verify(token)
        return Identity(name=claims.subject, access=claims.access)

    def authorize(self, identity: Identity, scopes: Sequence[Scope]) -> None:
        """Raise InsufficientScope unless the token grants every action of ``scopes``."""
        for scope in scopes:
            for action in sorted(scope.actions):
                if not identity.may(scope.type, scope.name, action):
                    raise InsufficientScope(scope)

    def challenge(self, scopes: Sequence[Scope], error: str | None = None) -> str:
        """Return ``Bearer realm=..,service=..[,scope=..][,error=..]``."""
        return bearer_challenge(self.realm, self.service, scopes, error)


def local_verification(
    keys: KeySet | KeyFinder,
    issuer: str,
    service: str,
    leeway: int,
    clock: Callable[[], float] = time.time,
) -> Verify:
    """Return a verifier checking signature, issuer, audience and time locally.

    ``keys`` finds a token's public key (:class:`.published.PublishedKeys`); its
    KeysUnavailable becomes IndexUnreachable (503).
    """
    verifier = TokenVerifier(keys, issuer=issuer, audience=service, leeway=leeway, clock=clock)

    def verify(token: str) -> Claims:
        try:
            return verifier.verify(token)
        except TokenError as exc:
            raise InvalidToken(f"token rejected: {exc.reason}") from None
        except KeysUnavailable as exc:
            logger.error("token verification impossible: %s", exc)
            raise IndexUnreachable(
                "the token keys cannot be fetched now; try again later"
            ) from None

    return verify


@dataclass(frozen=True)
class _Entry:
    claims: Claims
    fresh_until: float  # reuse without asking the Index until then
    valid_until: float  # exp + leeway: usable while the Index is unreachable


class RemoteVerification:
    """Verify tokens locally (``local``), then with the Index; cache results (bounded LRU,
    thread-safe)."""

    def __init__(
        self,
        client: IndexClient,
        service: str,
        ttl: int,
        leeway: int,
        capacity: int = CACHE_CAPACITY,
        clock: Callable[[], float] = time.time,
        local: Verify | None = None,
    ) -> None:
        self._local = local  # checked before the Index is asked (None: tests of the cache)
        self._client = client
        self._service = service
        self._ttl, self._leeway, self._capacity, self._clock = ttl, leeway, capacity, clock
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, token: str) -> Claims:
        """Return the claims of ``token``; InvalidToken or IndexUnreachable otherwise."""
        key = hashlib.sha256(token.encode()).digest()
        now = self._clock()
        entry = self._get(key, now)
        if entry is not None and now < entry.fresh_until:
            return entry.claims
        if self._local is not None and entry is None:
            self._local(token)  # InvalidToken: a forged or foreign token never reaches the Index
        try:
            claims = self._client.verify_token(token)
        except TokenRejected as exc:
            self._drop(key)
            raise InvalidToken(f"token rejected: {exc.reason}") from None
        except (IndexUnavailable, RegistryCredentialRejected) as exc:
            return self._unreachable(exc, entry)
        self._check(claims, now)
        valid_until = claims.expires_at + self._leeway
        self._put(key, _Entry(claims, min(now + self._ttl, valid_until), valid_until))
        return claims

    def _unreachable(self, exc: Exception, entry: _Entry | None) -> Claims:
        if entry is not None:
            logger.warning(
                "token verification: %s; using the cached verification of token %s",
                exc,
                entry.claims.token_id,
            )
            return entry.claims
        if isinstance(exc, RegistryCredentialRejected):
            logger.error(
                "token verification refused: %s; check REGISTRY_INDEX_NAME and "
                "REGISTRY_INDEX_CREDENTIAL",
                exc,
            )
        else:
            logger.error("token verification impossible, the Index is unreachable: %s", exc)
        raise IndexUnreachable("the Index cannot verify the token now; try again later") from None

    def _check(self, claims: Claims, now: float) -> None:
        if claims.audience != self._service:
            raise InvalidToken("token rejected: wrong_audience")
        if now >= claims.expires_at + self._leeway:
            raise InvalidToken("token rejected: expired")

    def _get(self, key: bytes, now: float) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if now >= entry.valid_until:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def _put(self, key: bytes, entry: _Entry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def _drop(self, key: bytes) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
