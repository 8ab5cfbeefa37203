"""HTTP Basic for the Docker-facing surfaces (``auth``: /v2/token, ``v1``) and for registries
calling ``internal``.

- :func:`principal`: the caller of a token or /v1/ request: anonymous without an
  ``Authorization`` header, else the user of its Basic credentials (password or access
  token, through the credential cache) or, where the view allows it, of a ``Bearer`` login
  token of the Index's own service (what Docker sends once logged in to the Index's host
  with an identity token). A header that is not well-formed is wrong credentials, never
  anonymous.
- :func:`lister`: the same for listings and searches, which also take anonymous tokens of
  the Index's service and registry tokens granting ``registry:catalog``.
- :func:`principal_for_token`: the same for ``GET /v2/token``, a remembered credential
  re-checked in the statement that reads the token request's registry and repositories.
- :func:`registry_credentials`: ``(name, credential)`` of a registry's Basic header.
- :func:`basic_challenge_on_401`: every 401 of a blueprint carries
  ``WWW-Authenticate: Basic realm="<INDEX_PUBLIC_URL>"`` (RFC 7617), whatever raised it;
  :func:`bearer_challenge_on_401` the Bearer challenge naming the Index's token endpoint
  and its own service.
- :func:`client_address`: the caller's address, as the login throttle counts failures; the
  principals returned here carry it (``Principal.address``: anonymous pull limits count by
  it).
- :func:`token_path`: a view decorator bounding each of the view's database waits by
  ``INDEX_DB_TOKEN_RESPONSE_TIMEOUT`` (the token endpoint and token verification, which
  clients and registries wait on: a hung database fails them fast, 503).

Credentials are never logged or put into error messages.
"""

from __future__ import annotations

import dataclasses
import functools

from flask import Blueprint, request
from wharf_protocol.scopes import Scope, basic_challenge, bearer_challenge

from ..context import current, uow
from ..domain import errors
from ..domain.model import ANONYMOUS, Principal
from ..domain.records import IssuanceLookup
from ..services.credential_cache import login, login_for_token
from ..services.tokens import TokenAuthority, principal_for_listing, principal_for_login_token


def authority() -> TokenAuthority:
    """The app's token authority (one per app; its credential cache serves every surface)."""
    return current().authority


def token_path(view):
    """Run ``view`` with its database waits bounded by ``INDEX_DB_TOKEN_RESPONSE_TIMEOUT``."""

    @functools.wraps(view)
    def bounded(*args, **kwargs):
        context = current()
        with context.db.limits(wait=context.settings.db_token_response_timeout):
            return view(*args, **kwargs)

    return bounded


def _basic() -> tuple[str, str] | None:
    if "Authorization" not in request.headers:
        return None
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or auth.password is None:
        raise errors.AuthenticationFailed()
    return auth.username, auth.password


def _bearer() -> str | None:
    """The token of a ``Bearer`` Authorization header, or None for any other header."""
    auth = request.authorization if "Authorization" in request.headers else None
    if auth is None or auth.type != "bearer":
        return None
    if not auth.token:
        raise errors.AuthenticationFailed("invalid token")
    return auth.token


def client_address() -> str:
    """Return the client's address: the peer of the connection gunicorn accepted, or, with
    ``INDEX_TRUSTED_PROXIES`` set, the one those proxies put in ``X-Forwarded-For``
    (werkzeug's ProxyFix, installed by create_app)."""
    return request.remote_addr or ""


def addressed(principal: Principal) -> Principal:
    """``principal`` carrying the client's address (:func:`client_address`)."""
    return dataclasses.replace(principal, address=client_address())


def principal(*, required: bool = False, bearer: bool = False) -> Principal:
    """Return the authenticated caller, or ANONYMOUS (AuthenticationFailed if ``required``),
    with the client's address.

    ``bearer`` also accepts a login token of the Index's own service.
    Raises AuthenticationFailed (wrong or malformed credentials), LoginThrottled.
    """
    token = _bearer() if bearer else None
    if token is not None:
        return addressed(principal_for_login_token(uow(), authority(), token))
    credentials = _basic()
    if credentials is None:
        if required:
            raise errors.AuthenticationFailed("authentication required")
        return addressed(ANONYMOUS)
    return addressed(login(uow(), authority().cache, *credentials, address=client_address()))


def lister() -> Principal:
    """The caller of a listing or search (``/v2/_catalog``, ``/v1/search``): as
    :func:`principal`, and a ``Bearer`` token may also be an anonymous token of the Index's
    service or a registry token granting ``registry:catalog`` (tokens.principal_for_listing).
    """
    token = _bearer()
    if token is not None:
        return principal_for_listing(uow(), authority(), token)
    return principal()


def principal_for_token(
    service: object, scopes: tuple[Scope, ...]
) -> tuple[Principal, IssuanceLookup | None]:
    """:func:`principal` for ``GET /v2/token`` (Basic or anonymous), with what a remembered
    credential's re-check read of the request's registry and repositories in the same
    statement (credential_cache.login_for_token), for tokens.issue."""
    credentials = _basic()
    if credentials is None:
        return addressed(ANONYMOUS), None
    address = client_address()
    if not isinstance(service, str) or not service or service == authority().service:
        return addressed(login(uow(), authority().cache, *credentials, address=address)), None
    names = [scope.name for scope in scopes if scope.type == "repository"]
    principal, lookup = login_for_token(
        uow(), authority().cache, *credentials, address=address, service=service, names=names
    )
    return addressed(principal), lookup


def registry_credentials() -> tuple[str, str]:
    """Return a registry's Basic ``(name, credential)``; RegistryCredentialInvalid if absent."""
    try:
        credentials = _basic()
    except errors.AuthenticationFailed:
        credentials = None
    if credentials is None:
        raise errors.RegistryCredentialInvalid()
    return credentials


def bearer_challenge_on_401(bp: Blueprint) -> None:
    """Answer every 401 of ``bp``'s views with ``Bearer realm="<INDEX_PUBLIC_URL>/v2/token",
    service="<the Index's service>"`` (token spec, "How to authenticate"; with
    ``error="invalid_token"`` when credentials were sent, RFC 6750 section 3.1)."""

    @bp.after_request
    def challenge(response):
        if response.status_code == 401:
            realm = current().settings.public_url.rstrip("/") + "/v2/token"
            error = "invalid_token" if "Authorization" in request.headers else None
            response.headers["WWW-Authenticate"] = bearer_challenge(
                realm, authority().service, error=error
            )
        return response


def basic_challenge_on_401(bp: Blueprint) -> None:
    """Add a Basic challenge to every 401 answered by ``bp``'s views."""

    @bp.after_request
    def challenge(response):
        if response.status_code == 401:
            realm = current().settings.public_url
            response.headers.setdefault("WWW-Authenticate", basic_challenge(realm))
        return response
