"""The token authority: issue registry tokens, refresh tokens, and verify for registries.

Docker token authentication (distribution docs, "Token Authentication Specification",
"OAuth2 Token Authentication", "Token Scope Documentation"):

- :func:`issue` grants the requested scopes cut down to what the principal may do in a
  token for the registry named by ``service``, its audience (services.access.authorize:
  scenario B allocation on push; the registry's kind and namespaces bound every grant,
  domain.policy.registry_actions, as do the routes of the requested namespaces: a push at a
  registry a namespace's route does not name is refused, saying where its pushes go; never
  an error for asking too much, but KindRefused when the kind or a route refuses the
  request outright, policy.kind_refusal; an unknown service is ValueInvalid). Every token
  is recorded in ``issued_tokens`` (jti, subject, audience, expiry, access) so
  verification can refuse revoked and never-issued tokens.
  The record is committed with ``synchronous_commit = off``: a PostgreSQL crash may lose
  the last few hundred milliseconds of records, whose tokens are then refused as
  "unknown" and simply fetched again; the issuance rate is not bound by WAL flushes. A
  request that allocated a repository (scenario B) commits durably instead: the relaxed
  commit applies only to a transaction whose one write is the record
  (adapters/issued_tokens.py). A request that cannot allocate (the usual one: pull, or
  push to an existing repository) and makes no refresh token runs without a transaction:
  one prepared statement reads the audience and the repositories, one records the token
  (a transaction of its own); the rest takes one transaction.
- Registry and login tokens are JWTs signed with the active key of the key ring
  (services/signing_keys.py: stored in the database, rotated with ``wharf-index keys
  rotate``) and verified against its published keys.
- With ``offline`` an authenticated caller also gets a refresh token: opaque to clients,
  itsdangerous-signed (HMAC) with a key derived from ``INDEX_SECRET_KEY`` under its own
  salt (so it is never a registry token), recorded with kind ``refresh`` (revocable;
  revoked with the user's other tokens on a password change), bound to the user (and, for
  access-token logins, to that token and its scopes) and to the user's credential epoch at
  the time the credentials were checked (so one minted by a request that checked the old
  password while the password changed is refused too), valid ``INDEX_REFRESH_TOKEN_TTL``
  seconds. :func:`refresh` exchanges it for an access token; as the OAuth2 spec of the
  reference registry says for ``grant_type=refresh_token``, the same refresh token is
  returned, never a new one.
- :func:`verify_for_registry`: the registry's credential, then signature, expiry and
  not-before (with ``INDEX_TOKEN_LEEWAY``), issuer, audience = that registry's name, and the
  issued-token record (``unknown`` / ``revoked``), in one indexed query.
- The Index is a service of its own (:attr:`TokenAuthority.service`, the issuer name), so
  that ``docker login`` to the Index's host works: for that ``service`` :func:`issue` gives
  authenticated callers a *login token* (no access; recorded like every token, so a password
  change revokes it) and :func:`principal_for_login_token` turns one back into its user.
  An anonymous caller gets an anonymous token for the Index's service (no access, opens no
  ``/v2/``): podman fetches a token before every request it sends with credentials, and its
  ``search`` lists ``/v2/_catalog`` of the Index that way (api/catalog.py).
- :func:`principal_for_listing`: the caller a Bearer token stands for when it lists or
  searches (the Index's ``/v2/_catalog`` and ``/v1/search``, a registry asking which of its
  catalog's names the caller may pull): a token of the Index's own service, or a registry
  token granting ``registry:catalog`` (what docker and podman fetch from a registry's
  challenge before they search there).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from itsdangerous import BadData, URLSafeSerializer
from wharf_protocol.names import LIBRARY_NAMESPACE, full_repository_name, namespace_of
from wharf_protocol.policy import EMPTY as NO_POLICY
from wharf_protocol.scopes import Scope, ScopeInvalid
from wharf_protocol.scopes import parse_scopes as _parse_scopes
from wharf_protocol.tokens import (
    Claims,
    TokenError,
    TokenIssuer,
    TokenVerifier,
    TokenWrongAudience,
)

from ..domain import errors, policy
from ..domain.model import ANONYMOUS, SYSTEM, Principal
from ..domain.records import IssuanceLookup
from ..settings import derive_token_key
from . import credentials, metrics, registries
from .access import authorize, decide, may_allocate
from .credential_cache import CredentialCache
from .principals import principal_for
from .signing_keys import KeyRing
from .token_policy import policy_for
from .unit_of_work import UnitOfWork

REFRESH_SALT = "wharf.refresh-token"  # noqa: S105 - a salt label, not a secret
MAX_SCOPES = 100
ACCESS_KIND = "access"  # issued_tokens.kind of registry tokens


class TokenUnknown(TokenError):
    """The token is well signed but the Index has no record of issuing it."""

    reason = "unknown"


class TokenRevoked(TokenError):
    """The token was revoked (password change, access token revoked, user disabled)."""

    reason = "revoked"


@dataclass(frozen=True)
class TokenGrant:
    """What the token endpoint answers."""

    token: str
    claims: Claims
    refresh_token: str | None = None

    @property
    def expires_in(self) -> int:
        return self.claims.expires_at - self.claims.issued_at

    @property
    def issued_at(self) -> str:
        """``iat`` as RFC 3339 (UTC, ``Z``)."""
        return datetime.fromtimestamp(self.claims.issued_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class TokenAuthority:
    """The token objects of one app (IndexContext.authority): the key ring, the issuer and
    verifier over it, the refresh-token serializer and the credential cache."""

    keys: KeyRing = field(repr=False)
    issuer: TokenIssuer
    verifier: TokenVerifier
    refresh_serializer: URLSafeSerializer = field(repr=False)
    cache: CredentialCache = field(repr=False)
    refresh_ttl: int

    def __repr__(self) -> str:
        return f"<TokenAuthority issuer={self.issuer!r}>"

    @property
    def service(self) -> str:
        """The Index's own service name (``INDEX_TOKEN_ISSUER``): the ``service`` of its
        ``/v2/`` challenge and the audience of its login tokens."""
        return self.issuer.issuer

    @classmethod
    def from_settings(cls, settings, keys: KeyRing) -> TokenAuthority:
        """The authority of ``settings`` signing and verifying with the ``keys`` ring."""
        return cls(
            keys=keys,
            issuer=keys.issuer(settings.token_issuer, settings.token_ttl),
            verifier=TokenVerifier(
                keys.find, issuer=settings.token_issuer, leeway=settings.token_leeway
            ),
            refresh_serializer=URLSafeSerializer(
                derive_token_key(settings.secret_key),
                salt=REFRESH_SALT,
                signer_kwargs={"digest_method": hashlib.sha256},
            ),
            cache=CredentialCache(
                settings.secret_key, settings.credential_cache_ttl, settings.credential_cache_size
            ),
            refresh_ttl=settings.refresh_token_ttl,
        )


def parse_scopes(values) -> tuple[Scope, ...]:
    """Parse ``scope`` values (each may hold several, space-separated); raise the domain
    ScopeInvalid for malformed ones or more than MAX_SCOPES. A one-part repository name is
    ``library/<name>`` (wharf_protocol.names.full_repository_name), as the registries read
    it: docker asks ``repository:app:pull`` for ``HOST/app`` and gets ``library/app``."""
    try:
        scopes = _parse_scopes([v for v in values if isinstance(v, str)])
    except ScopeInvalid as exc:
        raise errors.ScopeInvalid(str(exc)) from None
    if len(scopes) > MAX_SCOPES:
        raise errors.ScopeInvalid(f"at most {MAX_SCOPES} scopes per request")
    return tuple(
        Scope(s.type, full_repository_name(s.name), s.actions) if s.type == "repository" else s
        for s in scopes
    )


def _utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _service(service: object) -> str:
    """``service`` as a registry name to look up; ValueInvalid when missing or unknown."""
    if not service:
        raise errors.ValueInvalid("service", "the service parameter (the registry) is required")
    if not isinstance(service, str):
        raise _unknown_service(service)
    return service


def _unknown_service(service: object) -> errors.ValueInvalid:
    return errors.ValueInvalid("service", f"unknown service {service!r}: no such registry")


def _audience(
    uow: UnitOfWork, service: str | None, scopes: tuple[Scope, ...]
) -> tuple[policy.RegistryRules, bool]:
    """Return the rules of the registry named ``service`` (the audience: its name, kind,
    declared namespaces and the routes of the namespaces of ``scopes``) and whether it
    filters its catalog."""
    names = [s.name for s in scopes if s.type == "repository"]
    found = uow.token_checks.audience(_service(service), names)
    if found is None:
        raise _unknown_service(service)
    _, name, namespaces, filtered, kind, routed = found
    return policy.RegistryRules(name, kind, frozenset(namespaces), routed), bool(filtered)


def _refuse(rules: policy.RegistryRules, principal: Principal, scopes: tuple[Scope, ...]) -> None:
    """Raise KindRefused when the registry's kind (or a namespace's route) refuses the
    request outright (policy.kind_refusal), before anything is allocated or recorded."""
    reason = policy.kind_refusal(rules, principal, scopes)
    if reason is not None:
        scope = next((s for s in scopes if s.type == "repository"), scopes[0])
        raise errors.KindRefused(reason, str(scope))


def issue(
    uow: UnitOfWork,
    authority: TokenAuthority,
    principal: Principal,
    service: str | None,
    scopes: tuple[Scope, ...],
    *,
    offline: bool = False,
    allocate: bool = True,
    refresh_token: str | None = None,
    lookup: IssuanceLookup | None = None,
) -> TokenGrant:
    """Issue a token for ``service`` granting what ``principal`` may do of ``scopes``.

    ``offline`` adds a new refresh token (authenticated callers only) unless
    ``refresh_token`` is given, which is then returned as is. ``service`` naming the Index
    itself (:attr:`TokenAuthority.service`) gives a login token: no access whatever the
    scopes (for an anonymous caller an anonymous one, which only lists: see
    :func:`principal_for_listing`). ``lookup``: what
    credential_cache.login_for_token already read for this ``service`` and the
    repositories of ``scopes`` (spares that statement). Raises ValueInvalid (missing or
    unknown service).
    """
    user = principal.user
    own = service == authority.service
    # The key is (re)loaded, when due, before the database work: a request then holds one
    # pooled connection at a time.
    authority.keys.signing_key()
    if not (offline and user is not None and refresh_token is None):  # no new refresh token
        token_claims = _issue_unless_allocating(
            uow, authority, principal, service, scopes, allocate, lookup
        )
        if token_claims is not None:
            metrics.token_issued("login" if own else "registry")
            return TokenGrant(*token_claims, refresh_token if offline else None)
    with uow:
        if own:
            audience, granted, rules = authority.service, (), NO_POLICY
        else:
            rules, filtered = _audience(uow, service, scopes)
            _refuse(rules, principal, scopes)
            audience = rules.name
            granted = authorize(uow, principal, scopes, allocate=allocate, registry=rules)
            granted = _catalog_rule(principal, granted, filtered)
            rules = policy_for(uow, principal, granted)
        token, claims = authority.issuer.issue(principal.name, audience, granted, policy=rules)
        record(
            uow,
            claims,
            user_id=user.id if user is not None else None,
            access_token_id=principal.access_token_id,
        )
        made_refresh = offline and user is not None and refresh_token is None
        if made_refresh:
            refresh_token = _new_refresh_token(uow, authority, principal, claims)
    metrics.token_issued("login" if own else "registry")
    if made_refresh:
        metrics.token_issued("refresh")
    return TokenGrant(token, claims, refresh_token if offline else None)


def refuse_library_push(scopes: tuple[Scope, ...], grant: TokenGrant) -> None:
    """Raise LibraryPushDenied when ``scopes`` ask to push to a repository of the ``library``
    organisation (what a one-part name is) and ``grant`` does not allow it: the client then
    says why instead of a bare "denied" (a token without push is not an error elsewhere)."""
    for scope in scopes:
        wants_push = "push" in scope.actions or "*" in scope.actions
        if (
            scope.type == "repository"
            and wants_push
            and namespace_of(scope.name) == LIBRARY_NAMESPACE
            and not any(
                g.type == "repository" and g.name == scope.name and "push" in g.actions
                for g in grant.claims.access
            )
        ):
            raise errors.LibraryPushDenied(scope.name)


def _issue_unless_allocating(
    uow: UnitOfWork,
    authority: TokenAuthority,
    principal: Principal,
    service: str | None,
    scopes: tuple[Scope, ...],
    allocate: bool,
    lookup: IssuanceLookup | None,
) -> tuple[str, Claims] | None:
    """Issue the token without a transaction: one statement reads the audience and the
    requested repositories, one records the token (a transaction of its own, committed as
    :func:`record` says). Return None, having written nothing, when the request may
    allocate a repository (scenario B): that needs :func:`authorize`'s transaction."""
    user = principal.user
    with uow.reading():
        rules = NO_POLICY
        if service == authority.service:
            audience, granted = authority.service, ()
        else:
            names = [s.name for s in scopes if s.type == "repository"]
            found = lookup
            if found is None or found.audience != service:
                found = uow.token_checks.issuance(_service(service), names)
            if found is None:
                raise _unknown_service(service)
            rules = policy.RegistryRules(found.audience, found.kind, found.namespaces, found.routes)
            _refuse(rules, principal, scopes)
            if allocate and may_allocate(principal, scopes, found.repositories, rules):
                return None
            audience = found.audience
            granted = decide(uow, principal, scopes, found.repositories, rules)
            granted = _catalog_rule(principal, granted, found.catalog_filtered)
            rules = policy_for(uow, principal, granted)
        token, claims = authority.issuer.issue(principal.name, audience, granted, policy=rules)
        record(
            uow,
            claims,
            user_id=user.id if user is not None else None,
            access_token_id=principal.access_token_id,
        )
    return token, claims


def _catalog_rule(
    principal: Principal, granted: tuple[Scope, ...], filtered: bool
) -> tuple[Scope, ...]:
    """``granted`` without ``registry:catalog:*`` for non-administrators unless the registry
    ``filtered`` its catalog (Registry.filters_catalog: Wharf's registries list each holder
    of the scope what it may pull, asking the Index, services/catalog.py). The reference
    registry lists every name to every holder, so there the grant would show private names.
    Administrators keep it (they may see every name), except through an access token,
    whose scopes limit what it may see (as services/catalog.py lists for it). ``search``
    stays: it only lets a registry's host pass the token on to the Index's ``/v1/search``,
    which shows what the caller may see."""
    if filtered or (principal.is_admin and principal.scopes is None):
        return granted
    kept = []
    for scope in granted:
        if scope.type == "registry" and scope.name == "catalog":
            scope = Scope(scope.type, scope.name, scope.actions - {"*"})
        if scope.actions:
            kept.append(scope)
    return tuple(kept)


def record(
    uow: UnitOfWork,
    claims: Claims,
    *,
    user_id: int | None = None,
    access_token_id: int | None = None,
) -> None:
    """Record an issued registry token (its jti) in the open ``uow``, so the verification
    endpoint knows it and revocation (of the user or access token given) reaches it."""
    uow.issued_tokens.record(
        claims.token_id,
        subject=claims.subject,
        audience=claims.audience,
        expires_at=_utc(claims.expires_at),
        access=claims.to_dict()["access"],
        user_id=user_id,
        access_token_id=access_token_id,
        issued_at=_utc(claims.issued_at),
    )


def _new_refresh_token(
    uow: UnitOfWork, authority: TokenAuthority, principal: Principal, claims: Claims
) -> str:
    jti = credentials.new_secret()
    expires_at = claims.issued_at + authority.refresh_ttl
    uow.issued_tokens.record(
        jti,
        subject=principal.name,
        audience=claims.issuer,
        expires_at=_utc(expires_at),
        kind="refresh",
        user_id=principal.user.id,
        access_token_id=principal.access_token_id,
        issued_at=_utc(claims.issued_at),
    )
    return authority.refresh_serializer.dumps(
        {"jti": jti, "sub": principal.name, "ep": principal.user.credential_epoch}
    )


def principal_for_refresh(
    uow: UnitOfWork, authority: TokenAuthority, refresh_token: str
) -> Principal:
    """Return the principal a refresh token stands for; AuthenticationFailed if it is not
    genuine, unknown, revoked, expired, or its user (or access token) is no longer valid."""
    failed = errors.AuthenticationFailed("invalid refresh token")
    try:
        data = authority.refresh_serializer.loads(refresh_token)
    except (BadData, TypeError, ValueError):
        raise failed from None
    jti = data.get("jti") if isinstance(data, dict) else None
    if not isinstance(jti, str):
        raise failed
    with uow:
        record = uow.issued_tokens.find(jti)
        if (
            record is None
            or record.kind != "refresh"
            or record.revoked_at is not None
            or record.expires_at <= datetime.now(UTC)
            or record.user_id is None
        ):
            raise failed
        # epoch 0: made before credential epochs existed
        return _principal_of(uow, record, data.get("sub"), failed, epoch=data.get("ep", 0))


def principal_for_login_token(uow: UnitOfWork, authority: TokenAuthority, token: str) -> Principal:
    """Return the principal a login token (:func:`issue` for the Index's own service) stands
    for; AuthenticationFailed if it is not genuine, expired, for another audience, unknown,
    revoked, or its user (or access token) is no longer valid."""
    failed = errors.AuthenticationFailed("invalid token")
    try:
        claims = authority.verifier.verify(token, audience=authority.service)
    except TokenError:
        raise failed from None
    with uow:
        record = uow.issued_tokens.find(claims.token_id)
        if (
            record is None
            or record.kind != ACCESS_KIND
            or record.audience != authority.service
            or record.revoked_at is not None
            or record.user_id is None
        ):
            raise failed
        return _principal_of(uow, record, claims.subject, failed)


def principal_for_listing(
    uow: UnitOfWork, authority: TokenAuthority, token: str, *, audience: str | None = None
) -> Principal:
    """Return the caller ``token`` stands for when it lists or searches repositories: a
    login (or anonymous) token of the Index's own service, or a registry token granting
    ``registry:catalog`` (any action). Its record must exist and not be revoked; a token of
    nobody is ANONYMOUS, the Index's own (``registry sync``) SYSTEM. AuthenticationFailed
    otherwise (a registry token without the catalog grant never lists: it was given for
    other things). ``audience``: the registry the token must be for."""
    failed = errors.AuthenticationFailed("invalid token")
    try:
        claims = authority.verifier.verify(token, audience=audience)
    except TokenError:
        raise failed from None
    own = claims.audience == authority.service
    if not own and not any(a.type == "registry" and a.name == "catalog" for a in claims.access):
        raise failed
    with uow:
        record = uow.issued_tokens.find(claims.token_id)
        if (
            record is None
            or record.kind != ACCESS_KIND
            or record.audience != claims.audience
            or record.revoked_at is not None
        ):
            raise failed
        if record.user_id is None:
            return SYSTEM if claims.subject == SYSTEM.name and not own else ANONYMOUS
        return _principal_of(uow, record, claims.subject, failed)


def _principal_of(
    uow: UnitOfWork, record, subject: object, failed: Exception, *, epoch: int | None = None
) -> Principal:
    """The principal of an issued-token record of ``subject`` (within an open ``uow``);
    raise ``failed`` when its user is gone, disabled or renamed, its credentials changed
    since ``epoch`` (refresh tokens carry the epoch they were made in), or its access token
    is no longer active (the scopes of that access token then limit the principal)."""
    state = uow.token_checks.credential_state(record.user_id, record.access_token_id)
    if state is None or state.user.disabled or state.user.username != subject:
        raise failed
    if epoch is not None and state.user.credential_epoch != epoch:
        raise failed
    if record.access_token_id is not None and not state.token_active:
        raise failed
    scopes = state.token_scopes if record.access_token_id is not None else None
    return principal_for(uow, state.user, scopes=scopes, access_token_id=record.access_token_id)


def verify_for_registry(
    uow: UnitOfWork, authority: TokenAuthority, registry_name: str, credential: str, token: object
) -> Claims:
    """Return the claims of ``token`` if it is valid for the calling registry.

    Raises RegistryCredentialInvalid (unknown registry or wrong credential: checked first),
    then a TokenError: TokenMalformed, TokenBadSignature, TokenExpired, TokenNotYetValid,
    TokenWrongIssuer, TokenWrongAudience, TokenUnknown, TokenRevoked.
    """
    problem: TokenError | None = None
    claims: Claims | None = None
    try:
        claims = authority.verifier.verify(token)  # type: ignore[arg-type]
    except TokenError as exc:
        problem = exc
    if not isinstance(registry_name, str) or not isinstance(credential, str):
        raise errors.RegistryCredentialInvalid()
    with uow.reading():  # one statement: no BEGIN/COMMIT round trips
        found = uow.token_checks.verification(registry_name, claims.token_id if claims else None)
    if found is None or not credentials.matches(
        credentials.PURPOSE_REGISTRY, credential, found.credential_hash
    ):
        raise errors.RegistryCredentialInvalid()
    registries.note_wharf(uow, found.registry_id, found.wharf_known)
    if problem is not None:
        raise problem
    assert claims is not None
    if claims.audience != found.registry_name:
        raise TokenWrongAudience(f"token is for {claims.audience!r}, not {found.registry_name!r}")
    if found.token_kind != ACCESS_KIND or found.token_audience != claims.audience:
        raise TokenUnknown("the Index did not issue this token")
    if found.token_revoked:
        raise TokenRevoked("token revoked")
    return claims
