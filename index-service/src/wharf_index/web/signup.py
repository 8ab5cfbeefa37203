"""``GET|POST /signup``: create an account, as INDEX_SIGNUP allows.

- ``closed``: a page saying that administrators create accounts (no form; 404 status).
- ``invite``: the form only with a usable invitation link (``/signup?invite=<token>``,
  services/invitations.py); an unknown, expired, used or revoked one gets one message.
- ``open``: anyone; invitation links work too.

The account is made by the same service, with the same name, reserved-name, email and
password rules, as ``POST /api/v1/users``; the new user is signed in afterwards.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from ..api.rest.auth import start_session
from ..context import current, uow
from ..domain import errors
from ..services import invitations
from . import bp
from .session import check_form

MISMATCH = "The two passwords differ."
BAD_INVITE = "This invitation link is not valid: it expired, was used or was revoked."


def mode() -> str:
    """INDEX_SIGNUP: ``closed``, ``invite`` or ``open``."""
    return current().settings.signup


@bp.get("/signup")
def signup_form():
    invite = request.args.get("invite")
    refused = _refused(invite)
    if refused is not None:
        return refused
    email = ""
    if invite:
        email = invitations.check_invitation(uow(), invite).email or ""
    return render_template("signup.html", invite=invite, form={"email": email}, error=None)


@bp.post("/signup")
def signup():
    check_form()
    invite = request.form.get("invite") or None
    refused = _refused(invite)
    if refused is not None:
        return refused
    form = {name: request.form.get(name, "") for name in ("username", "email")}
    password = request.form.get("password", "")
    if password != request.form.get("password2", ""):
        return _again(invite, form, MISMATCH, 400)
    try:
        if invite:
            user = invitations.redeem_invitation(
                uow(), invite, form["username"].strip(), form["email"], password
            )
        else:
            user = invitations.sign_up(uow(), form["username"].strip(), form["email"], password)
    except errors.InvitationInvalid:
        return _closed(BAD_INVITE)
    except (errors.Invalid, errors.Conflict) as exc:
        return _again(
            invite, form, _sentence(exc), 409 if isinstance(exc, errors.Conflict) else 400
        )
    start_session(user)
    return redirect(url_for("web.account"), 303)


def _refused(invite: str | None):
    """The answer when this visitor may not sign up (None when they may)."""
    if mode() == "closed":
        return _closed("Sign-up is closed here: an administrator creates accounts.")
    if mode() == "invite" and not invite:
        return _closed("Sign-up here is by invitation: ask an administrator for a link.")
    if invite:
        try:
            invitations.check_invitation(uow(), invite)
        except errors.InvitationInvalid:
            return _closed(BAD_INVITE)
    return None


def _closed(message: str):
    return render_template("signup_closed.html", message=message), 404


def _again(invite: str | None, form: dict, message: str, status: int):
    body = render_template("signup.html", invite=invite, form=form, error=message)
    return body, status


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
