"""``GET|POST /signin`` and ``POST /signout``: the session the pages and the API share.

A wrong name or password and an unknown name answer the same message; repeated failures
are throttled per name and client address as for every login (services/login_throttle).
Access tokens cannot sign in here (they are for clients). ``next`` may only be a path on
this site.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from ..api.docker_auth import client_address
from ..api.rest.auth import end_session, start_session
from ..context import uow
from ..domain import errors
from ..services import authentication
from . import bp
from .session import check_form

WRONG = "Wrong username or password."


def _local(target: str | None) -> str:
    """``target`` if it is a path on this site, else the home page."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("web.home")


@bp.get("/signin")
def signin_form():
    return render_template("signin.html", next=_local(request.args.get("next")), error=None)


@bp.post("/signin")
def signin():
    check_form()
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    target = _local(request.form.get("next"))
    try:
        if not username or not password or "\x00" in username + password:
            raise errors.AuthenticationFailed(WRONG)
        found = authentication.authenticate(uow(), username, password, address=client_address())
        if found.scopes is not None or found.user is None:
            raise errors.AuthenticationFailed(WRONG)
    except errors.AuthenticationFailed:
        return _again(username, target, WRONG, 401)
    except errors.LoginThrottled as exc:
        message = f"Too many failed attempts; try again in {exc.retry_after} seconds."
        return _again(username, target, message, 429, {"Retry-After": str(exc.retry_after)})
    start_session(found.user)
    return redirect(target, 303)


def _again(username: str, target: str, message: str, status: int, headers=None):
    body = render_template("signin.html", next=target, error=message, username=username)
    return body, status, headers or {}


@bp.post("/signout")
def signout():
    check_form()
    end_session()
    return redirect(url_for("web.home"), 303)
