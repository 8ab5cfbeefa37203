"""Who is signed in on this browser, and CSRF for the pages' forms.

The web pages share the API's session (``POST /api/v1/session`` and ``/signin`` set the
same signed cookie; api/rest/auth.py holds its contract). A form posts the session's CSRF
token in the hidden field ``csrf_token``; a visitor who is not signed in gets a token in
the session too, so the sign-in form itself is protected (login CSRF).
"""

from __future__ import annotations

import hmac
import secrets

from flask import g, redirect, request, session, url_for
from wharf_protocol.errcode import ApiError

from ..api.rest.auth import SESSION_CSRF, SESSION_EPOCH, SESSION_USER_ID, session_principal
from ..domain.model import ANONYMOUS, Principal, User

FIELD = "csrf_token"


class CsrfFailed(Exception):
    """A form arrived without the session's CSRF token."""


def principal() -> Principal:
    """Return the signed-in Principal, or ANONYMOUS (an ended session is cleared)."""
    if "web_principal" not in g:
        found = ANONYMOUS
        if SESSION_USER_ID in session:
            try:
                found = session_principal()
            except ApiError:  # the session ended (password changed, account disabled)
                found = ANONYMOUS
        g.web_principal = found
    return g.web_principal


def signed_in_user() -> User | None:
    """The signed-in user for templates (None for visitors)."""
    return principal().user


def form_csrf_token() -> str:
    """Return the session's CSRF token, making one for a visitor who has none."""
    token = session.get(SESSION_CSRF)
    if not token:
        token = session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return str(token)


def check_form() -> None:
    """Raise :class:`CsrfFailed` unless the posted form carries the session's CSRF token."""
    given = request.form.get(FIELD, "")
    expected = session.get(SESSION_CSRF, "")
    if not expected or not hmac.compare_digest(given.encode(), str(expected).encode()):
        raise CsrfFailed()


def require_user():
    """The signed-in Principal, or None: the caller then redirects to the sign-in page."""
    found = principal()
    return found if found.user is not None else None


def signin_redirect():
    """Send an anonymous visitor to the sign-in page, coming back here afterwards."""
    return redirect(url_for("web.signin_form", next=request.full_path.rstrip("?")), 303)


def keep_session(user: User) -> None:
    """Carry this browser's session over its own user's password change (``user`` as it is
    now): the contract of api/rest/auth.py ``renew_session`` (the visitor just proved the
    old password); every other session of the user has ended."""
    if session.get(SESSION_USER_ID) == user.id:
        session[SESSION_EPOCH] = user.credential_epoch
        g.pop("web_principal", None)
