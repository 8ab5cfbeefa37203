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
or foreign token never reaches the Index.

:class:`TokenVerification` remembers the outcome per worker process (:mod:`.tokencache`,
keyed by a SHA-256 of the token, which is never stored or logged; bounded LRU shared by the
worker's threads), so a token is checked locally once, not per request:

- an entry is never used at or after the token's ``exp`` + leeway (when the verifier itself
  starts refusing it), whatever happens to the keys meanwhile;
- ``remote``: the Index's confirmation is reused for at most ``ttl`` seconds (then asked
  again, without a new signature check), so a token revoked at the Index stops working
  within the TTL; a token the Index refuses is remembered as refused (until its expiry)
  and never asked about again. While the Index cannot be reached, a token the Index
  confirmed before keeps working until it expires (stale-if-error), so pulls survive an
  Index outage; a token never confirmed gets the 503;
- single flight: requests carrying the same token while it is being verified wait for that
  one verification (one Index call per worker), at most ``wait`` seconds (:data:`WAIT`),
  then get the 503 rather than calling the Index themselves;
- ``confirm="async"`` (remote only): a token that passed the local check is accepted at once
  for requests needing ``pull`` only (reads) while the Index confirmation runs in the
  background; requests needing ``push`` or ``delete`` wait for it (:meth:`TokenAuth.authorize`).
  Once the Index refuses the token, it is refused for everything. The trade-off: a revoked
  token may serve reads for one Index round trip. A confirmation that fails (Index
  unreachable) ends the grace for that token: its requests then wait for a confirmation, as
  in ``sync`` mode (503 while the Index is down), so an outage never turns into unchecked
  revocation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import NamedTuple

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

from .. import metrics
from .base import AuthenticationRequired, Authenticator, Identity
from .published import KeysUnavailable
from .tokencache import (
    CAPACITY,
    Entry,
    Flight,
    Flights,
    FlightTimeout,
    Refusal,
    TokenCache,
    token_key,
)

logger = logging.getLogger(__name__)

CACHE_CAPACITY = CAPACITY
CONFIRM_MODES = SYNC, ASYNC = ("sync", "async")
# Seconds a request waits for another's verification of its token, then 503: longer than a
# call with the registry's Index client takes (app.py: 2 attempts of 3.05 s connect + 5 s read).
WAIT = 20.0
CONFIRMERS = 4  # background confirmation threads per worker (async mode)
Verify = Callable[[str], Claims]
INDEX_ACTOR = "wharf-index"  # the subject of the Wharf Index's own tokens (registry sync)


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


class Pending:
    """The Index confirmation of a token accepted before it answered (async mode)."""

    def __init__(self, flight: Flight, wait: float) -> None:
        self._flight, self._wait = flight, wait

    def wait(self) -> Claims:
        """The confirmed claims; InvalidToken if the Index refused; IndexUnreachable."""
        try:
            return self._flight.result(self._wait)
        except FlightTimeout:
            logger.error("token verification: no answer from the Index within %s s", self._wait)
            raise IndexUnreachable(
                "the Index cannot verify the token now; try again later"
            ) from None


@dataclass(frozen=True)
class TokenIdentity(Identity):
    """A token's identity; ``pending``: its Index confirmation is still running (async);
    ``token_id`` and ``expires_at``: its ``jti`` and ``exp`` (what pull limits and quotas
    count by: :mod:`.pull_meter`, api/quota.py)."""

    pending: Pending | None = field(default=None, compare=False, repr=False)
    token_id: str = field(default="", compare=False, repr=False)
    expires_at: int = field(default=0, compare=False, repr=False)


class Checked(NamedTuple):
    """A token's claims, and its confirmation when still pending (see TokenIdentity)."""

    claims: Claims
    pending: Pending | None = None


class TokenAuth(Authenticator):
    """Bearer tokens verified by ``verify`` (remote or local), authorised per request."""

    name = "token"

    def __init__(
        self,
        realm: str,
        service: str,
        verify: Verify,
        keys: object = None,
        index: IndexClient | None = None,
    ) -> None:
        self.realm = realm
        self.service = service
        self.keys = keys  # the public keys verify uses (PublishedKeys), for inspection
        self._verify = verify
        self._index = index  # remote mode: asked which catalog names a caller may pull

    def authenticate(self, request: Request) -> Identity:
        """Return the token's identity (subject and access); AuthenticationRequired if none."""
        token = _bearer(request)
        if not token:
            raise AuthenticationRequired("authentication required: a bearer token is needed")
        check = getattr(self._verify, "check", None)
        try:
            checked = check(token) if check is not None else Checked(self._verify(token))
        except InvalidToken:
            metrics.token_verified("invalid")
            raise
        except IndexUnreachable:
            metrics.token_verified("unavailable")
            raise
        metrics.token_verified("valid")
        claims = checked.claims
        return TokenIdentity(
            name=claims.subject,
            access=claims.access,
            policy=claims.policy,
            pending=checked.pending,
            token_id=claims.token_id,
            expires_at=claims.expires_at,
        )

    def authorize(self, identity: Identity, scopes: Sequence[Scope]) -> None:
        """Raise InsufficientScope unless the token grants every action of ``scopes``; then,
        unless ``scopes`` need ``pull`` only, wait for a pending Index confirmation (which
        raises InvalidToken for a token the Index refused, IndexUnreachable)."""
        for scope in scopes:
            for action in sorted(scope.actions):
                if not identity.may(scope.type, scope.name, action):
                    raise InsufficientScope(scope)
        pending = getattr(identity, "pending", None)
        if pending is not None and any(a != "pull" for s in scopes for a in s.actions):
            pending.wait()

    def pullable(self, identity: Identity, request: Request, names: list[str]) -> list[str]:
        """The catalog's filter (the caller holds ``registry:catalog:*``, checked before).

        ``remote``: the Index says which names the token's caller may pull (every name for
        administrators and the Index itself); so the listing holds exactly what the caller
        may pull, which the token alone cannot say. ``local`` (no Index to ask): the names
        the token itself grants ``pull`` on, and every name to the Wharf Index's own actor
        (subject :data:`INDEX_ACTOR`, what ``registry sync`` reads with; no user can take
        that name): the Wharf Index grants the catalog scope to everyone, so listing every
        name to every holder, as the reference registry does, would show private names.
        Raises InvalidToken (the Index refused the token), IndexUnreachable.
        """
        if not names:
            return []
        if self._index is None:
            if identity.name == INDEX_ACTOR:
                return list(names)
            return [name for name in names if identity.may("repository", name, "pull")]
        try:
            return self._index.pullable(_bearer(request), names)
        except TokenRejected as exc:
            refusal = InvalidToken(str(exc))
            catalog = Scope("registry", "catalog", frozenset({"*"}))
            refusal.challenge = self.challenge([catalog], refusal.error)
            raise refusal from None
        except (IndexUnavailable, RegistryCredentialRejected) as exc:
            logger.error("catalog: the Index cannot filter the listing: %s", exc)
            raise IndexUnreachable("the Index cannot answer now; try again later") from None

    def challenge(self, scopes: Sequence[Scope], error: str | None = None) -> str:
        """Return ``Bearer realm=..,service=..[,scope=..][,error=..]``."""
        return bearer_challenge(self.realm, self.service, scopes, error)


def _bearer(request: Request) -> str:
    """The token of the request's ``Authorization: Bearer`` header ("" for none)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


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


class TokenVerification:
    """Verify tokens with ``local`` (the published keys), then, when ``index`` is given, with
    the Index; remember the outcome (module doc). ``clock`` is epoch seconds (token times).

    Call it for settled claims (waits for the Index even in async mode), or use :meth:`check`.
    Raises InvalidToken (401) or IndexUnreachable (503).
    """

    def __init__(
        self,
        local: Verify,
        index: IndexClient | None = None,
        service: str = "",
        ttl: int = 30,
        leeway: int = 60,
        capacity: int = CAPACITY,
        confirm: str = SYNC,
        clock: Callable[[], float] = time.time,
        wait: float = WAIT,
    ) -> None:
        if confirm not in CONFIRM_MODES:
            raise ValueError(f"confirm must be one of {', '.join(CONFIRM_MODES)}")
        if confirm == ASYNC and index is None:
            raise ValueError("async confirmation needs the Index (remote verification)")
        self._local, self._index, self._service = local, index, service
        self._ttl, self._leeway, self._clock, self._wait = ttl, leeway, clock, wait
        self._async = confirm == ASYNC
        self.cache = TokenCache(capacity)
        self.flights = Flights()
        self._confirmers: ThreadPoolExecutor | None = None
        self._confirmers_lock = threading.Lock()

    def __call__(self, token: str) -> Claims:
        """Return the claims of ``token`` once settled; InvalidToken or IndexUnreachable."""
        now = self._clock()
        known = self.cache.get(token_key(token), now)
        if type(known) is Entry and now < known.confirmed_until:
            metrics.token_cache(hit=True)
            return known.claims  # the hot path, as in check()
        checked = self.check(token)
        return checked.claims if checked.pending is None else checked.pending.wait()

    def check(self, token: str) -> Checked:
        """Return the claims of ``token``, with a pending confirmation in async mode."""
        key = token_key(token)
        now = self._clock()
        known = self.cache.get(key, now)
        if isinstance(known, Refusal):
            metrics.token_cache(hit=True)
            raise InvalidToken(f"token rejected: {known.reason}")
        if known is not None and now < known.confirmed_until:
            metrics.token_cache(hit=True)
            return Checked(known.claims)  # the hot path: no signature check, no call
        metrics.token_cache(hit=False)
        defer = self._async and (known is None or known.deferrable)
        flight, leader = self.flights.join(key)
        if leader:
            self._lead(key, token, flight, defer)
        try:
            if defer:  # a read decided when it came: only a refusal stops it now
                claims = flight.checked_claims(self._wait)
                if not flight.done or isinstance(flight.error, IndexUnreachable):
                    return Checked(claims, Pending(flight, self._wait))
            return Checked(flight.result(self._wait))
        except FlightTimeout:
            logger.error(
                "token verification: another request's verification of the same token did "
                "not end within %s s",
                self._wait,
            )
            raise IndexUnreachable("the token cannot be verified now; try again later") from None

    def _lead(self, key: bytes, token: str, flight: Flight, defer: bool) -> None:
        """Verify for every request waiting on ``flight``: locally unless done before, then
        with the Index, here or (``defer``) in the background."""
        now = self._clock()
        known = self.cache.get(key, now)  # again: a flight may have ended since the lookup
        if isinstance(known, Refusal):
            self.flights.land(key, flight, error=InvalidToken(f"token rejected: {known.reason}"))
            return
        if known is not None and now < known.confirmed_until:
            self.flights.land(key, flight, known.claims)
            return
        if known is None:
            try:
                claims = self._local(token)
            except BaseException as exc:
                self.flights.land(key, flight, error=exc)
                raise
            valid_until = claims.expires_at + self._leeway
            if self._index is None:  # local mode: the local check is all there is
                entry = Entry(claims, valid_until, valid_until, confirmed=True)
                self.cache.put(key, entry)
                self.flights.land(key, flight, claims)
                return
            known = Entry(claims, valid_until)
            self.cache.put(key, known)
        entry = known
        flight.passed_local_check(entry.claims)

        def confirm() -> None:
            self.flights.fly(key, flight, lambda: self._confirm(key, token, entry))

        if defer:
            self._background(confirm)
        else:
            confirm()

    def _confirm(self, key: bytes, token: str, known: Entry) -> Claims:
        """Ask the Index about a token that passed the local check; cache the answer."""
        assert self._index is not None  # noqa: S101 - only remote mode confirms
        now = self._clock()
        try:
            claims = self._index.verify_token(token)
        except TokenRejected as exc:
            self.cache.put(key, Refusal(exc.reason, known.valid_until))
            raise InvalidToken(f"token rejected: {exc.reason}") from None
        except (IndexUnavailable, RegistryCredentialRejected) as exc:
            return self._unreachable(key, exc, known)
        problem = self._problem(claims, now)
        if problem:
            self.cache.put(key, Refusal(problem, known.valid_until))
            raise InvalidToken(f"token rejected: {problem}")
        valid_until = min(known.valid_until, claims.expires_at + self._leeway)
        confirmed_until = min(now + self._ttl, valid_until)
        self.cache.put(key, Entry(claims, valid_until, confirmed_until, confirmed=True))
        return claims

    def _unreachable(self, key: bytes, exc: Exception, known: Entry) -> Claims:
        if known.confirmed:
            logger.warning(
                "token verification: %s; using the cached verification of token %s",
                exc,
                known.claims.token_id,
            )
            return known.claims
        self.cache.put(key, replace(known, deferrable=False))  # no more reads before an answer
        if isinstance(exc, RegistryCredentialRejected):
            logger.error(
                "token verification refused: %s; check REGISTRY_INDEX_NAME and "
                "REGISTRY_INDEX_CREDENTIAL",
                exc,
            )
        else:
            logger.error("token verification impossible, the Index is unreachable: %s", exc)
        raise IndexUnreachable("the Index cannot verify the token now; try again later") from None

    def _problem(self, claims: Claims, now: float) -> str | None:
        if claims.audience != self._service:
            return "wrong_audience"
        if now >= claims.expires_at + self._leeway:
            return "expired"
        return None

    def _background(self, work: Callable[[], None]) -> None:
        with self._confirmers_lock:
            if self._confirmers is None:  # made on first use: in the worker, after the fork
                self._confirmers = ThreadPoolExecutor(CONFIRMERS, "token-confirm")
            try:
                self._confirmers.submit(work)
                return
            except RuntimeError:  # shutting down: confirm here rather than never
                pass
        work()

    def __len__(self) -> int:
        return len(self.cache)


class RemoteVerification(TokenVerification):
    """Remote mode (``local`` required) with the Index client first."""

    def __init__(
        self,
        client: IndexClient,
        service: str,
        ttl: int,
        leeway: int,
        capacity: int = CAPACITY,
        clock: Callable[[], float] = time.time,
        local: Verify | None = None,
        confirm: str = SYNC,
        wait: float = WAIT,
    ) -> None:
        if local is None:
            raise ValueError("remote verification starts with the local check: give local")
        super().__init__(local, client, service, ttl, leeway, capacity, confirm, clock, wait)
