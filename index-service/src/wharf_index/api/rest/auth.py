"""API authentication: who is asking, once per request (one seam, not a tower).

Accepted, in this order:

1. ``Authorization: Basic`` -- ``username:password`` or ``username:<access token>``
   (services.authentication.authenticate routes tokens; wrong credentials are 401, repeated
   failures of one name from one address 429 with Retry-After).
2. ``Authorization: Bearer <access token>`` (``wharf_pat_...``; throttled the same way).
3. The session cookie set by ``POST /api/v1/session`` (Flask's session, signed with
   INDEX_SECRET_KEY; HttpOnly, SameSite=Lax). Requests other than GET/HEAD/OPTIONS made
   with the cookie must carry ``X-CSRF-Token`` equal to the ``csrf_token`` the login
   answered (403 CSRF_FAILED otherwise). The session holds the user's credential epoch:
   once the account is deleted, disabled or its password changed (by anyone, anywhere),
   the session ends at once (401). The one exception: a user changing their own password
   with this session gets it renewed (:func:`renew_session`), as they just proved the old
   password; every other session of theirs ends.
4. Nothing: the anonymous principal (public reads only).

Any Authorization header that does not authenticate is a 401 (never a silent anonymous
fallback). Every 401 carries ``WWW-Authenticate: Bearer realm="wharf-index"`` (not Basic,
so browsers show no password dialog for the web pages' requests).
"""

from __future__ import annotations

import hmac
import secrets

from flask import g, request, session
from wharf_protocol.errcode import ApiError

from ...context import uow
from ...domain import errors
from ...domain.model import ANONYMOUS, Principal, User
from ...services import accounts, authentication, principals
from ...services.credential_cache import login
from ..docker_auth import authority, client_address
from . import bp
from .inputs import load, storable
from .openapi import doc
from .schemas import LoginIn, SessionSchema

SESSION_USER_ID = "uid"
SESSION_USERNAME = "user"
SESSION_CSRF = "csrf"
SESSION_EPOCH = "ep"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CHALLENGE = 'Bearer realm="wharf-index"'


def principal() -> Principal:
    """Return the caller's Principal (ANONYMOUS without credentials); cached on ``g``."""
    if "api_principal" not in g:
        g.api_principal = _authenticate()
    return g.api_principal


def require_user() -> Principal:
    """Return the signed-in Principal; 401 for anonymous callers."""
    found = principal()
    if found.user is None:
        raise ApiError("UNAUTHORIZED", "authentication required", 401)
    return found


def require_account() -> Principal:
    """Like :func:`require_user`, but refuse access tokens (403): account, organisation,
    token and registry management need a password login or a session."""
    found = require_user()
    if found.scopes is not None:
        raise ApiError("DENIED", "access tokens may not do this; sign in with a password", 403)
    return found


def require_admin() -> Principal:
    """Return an administrator's unscoped Principal; 403 for everyone else."""
    found = require_account()
    if not found.is_admin:
        raise errors.PermissionDenied("administrators only")
    return found


def _authenticate() -> Principal:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "basic":
            credentials = request.authorization
            if (
                credentials is None
                or credentials.username is None
                or not storable([credentials.username, credentials.password or ""])
            ):
                raise ApiError("UNAUTHORIZED", "malformed Basic credentials", 401)
            # Through the credential cache /v2/token uses: scrypt is slow by design, and
            # API clients send Basic credentials on every request.
            return login(
                uow(),
                authority().cache,
                credentials.username,
                credentials.password or "",
                address=client_address(),
            )
        if scheme.lower() == "bearer" and value.strip():
            return authentication.authenticate_bearer(
                uow(), value.strip(), address=client_address()
            )
        raise ApiError("UNAUTHORIZED", "unsupported Authorization header", 401)
    if SESSION_USER_ID not in session:
        return ANONYMOUS
    _check_csrf()
    g.api_session = True
    return session_principal()


def _check_csrf() -> None:
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER, "")
    expected = session.get(SESSION_CSRF, "")
    if not expected or not hmac.compare_digest(given.encode(), str(expected).encode()):
        raise ApiError("CSRF_FAILED", f"missing or wrong {CSRF_HEADER} header", 403)


def session_principal() -> Principal:
    """The Principal of the session cookie's user (the web pages use it too); 401, and the
    session cleared, once the account is gone or disabled or its credentials changed."""
    work = uow()
    try:
        user = accounts.get_user(work, str(session.get(SESSION_USERNAME, "")))
    except errors.UserNotFound:
        user = None
    if (
        user is None
        or user.id != session.get(SESSION_USER_ID)
        or user.disabled
        or user.credential_epoch != session.get(SESSION_EPOCH)
    ):
        session.clear()
        raise ApiError("UNAUTHORIZED", "the session has ended; sign in again", 401)
    return principals.principal_for(work, user)


def start_session(user: User) -> str:
    """Sign ``user`` in on this browser; return the new CSRF token."""
    session.clear()
    session[SESSION_USER_ID] = user.id
    session[SESSION_USERNAME] = user.username
    session[SESSION_EPOCH] = user.credential_epoch
    session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return session[SESSION_CSRF]


def renew_session(user: User) -> None:
    """Carry this request's session over a credential change of its own user (``user`` as
    it is now); other sessions stay ended. No-op unless the request came with the session
    of ``user``. The CSRF token stays the same."""
    if g.get("api_session") and session.get(SESSION_USER_ID) == user.id:
        session[SESSION_EPOCH] = user.credential_epoch


def end_session() -> None:
    session.clear()


def csrf_token() -> str | None:
    """Return the session's CSRF token (None without a session)."""
    return session.get(SESSION_CSRF)


@bp.after_request
def add_challenge(response):
    """Add the authentication challenge to every 401 of the API."""
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = CHALLENGE
    return response


# -- the session endpoints -------------------------------------------------------------------


@bp.post("/session")
@doc(auth="none", body=LoginIn, response=SessionSchema, errors=(401, 429))
def create_session():
    """Sign in with a password; set the session cookie and answer the CSRF token."""
    data = load(LoginIn)
    signed_in = authentication.authenticate(
        uow(), data["username"], data["password"], address=client_address()
    )
    if signed_in.scopes is not None:
        raise errors.AuthenticationFailed("sign in with a password, not an access token")
    token = start_session(signed_in.user)
    return SessionSchema().dump({"user": signed_in.user, "csrf_token": token})


@bp.get("/session")
@doc(auth="account", response=SessionSchema, security=("session",))
def get_session():
    """Return the signed-in user and the session's CSRF token (401 without a session)."""
    if SESSION_USER_ID not in session:
        raise ApiError("UNAUTHORIZED", "no session", 401)
    return SessionSchema().dump({"user": require_user().user, "csrf_token": csrf_token()})


@bp.delete("/session")
@doc(auth="none", status=204, db=False)
def delete_session():
    """Sign out: clear the session cookie (idempotent)."""
    end_session()
    return "", 204
