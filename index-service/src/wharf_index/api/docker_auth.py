"""HTTP Basic for the Docker-facing surfaces (``auth``: /v2/token, ``v1``) and for registries
calling ``internal``.

- :func:`principal`: the caller of a token or /v1/ request: anonymous without an
  ``Authorization`` header, else the user of its Basic credentials (password or access
  token, through the credential cache). A header that is not well-formed Basic is wrong
  credentials, never anonymous.
- :func:`registry_credentials`: ``(name, credential)`` of a registry's Basic header.
- :func:`basic_challenge_on_401`: every 401 of a blueprint carries
  ``WWW-Authenticate: Basic realm="<INDEX_PUBLIC_URL>"`` (RFC 7617), whatever raised it.
- :func:`token_path`: a view decorator bounding each of the view's database waits by
  ``INDEX_DB_TOKEN_RESPONSE_TIMEOUT`` (the token endpoint and token verification, which
  clients and registries wait on: a hung database fails them fast, 503).

Credentials are never logged or put into error messages.
"""

from __future__ import annotations

import functools

from flask import Blueprint, request
from wharf_protocol.scopes import basic_challenge

from ..context import current, uow
from ..domain import errors
from ..domain.model import ANONYMOUS, Principal
from ..services.credential_cache import login
from ..services.tokens import TokenAuthority

EXTRA = "tokens"


def init_authority(context) -> None:
    """Create the app's TokenAuthority once (each Docker-facing surface calls this)."""
    if EXTRA not in context.extras:
        context.extras[EXTRA] = TokenAuthority.from_settings(context.settings)


def authority() -> TokenAuthority:
    return current().extras[EXTRA]


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


def principal(*, required: bool = False) -> Principal:
    """Return the authenticated caller, or ANONYMOUS (AuthenticationFailed if ``required``).

    Raises AuthenticationFailed (wrong or malformed credentials), LoginThrottled.
    """
    credentials = _basic()
    if credentials is None:
        if required:
            raise errors.AuthenticationFailed("authentication required")
        return ANONYMOUS
    return login(uow(), authority().cache, *credentials)


def registry_credentials() -> tuple[str, str]:
    """Return a registry's Basic ``(name, credential)``; RegistryCredentialInvalid if absent."""
    try:
        credentials = _basic()
    except errors.AuthenticationFailed:
        credentials = None
    if credentials is None:
        raise errors.RegistryCredentialInvalid()
    return credentials


def basic_challenge_on_401(bp: Blueprint) -> None:
    """Add a Basic challenge to every 401 answered by ``bp``'s views."""

    @bp.after_request
    def challenge(response):
        if response.status_code == 401:
            realm = current().settings.public_url
            response.headers.setdefault("WWW-Authenticate", basic_challenge(realm))
        return response
