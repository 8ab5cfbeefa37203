"""The signed-in user's own pages: ``/account`` (profile; ``POST /account/email`` changes
the email address), ``/account/password`` (change it), ``/account/tokens`` (personal access
tokens: create, list, revoke).

Every page needs a signed-in user (others are sent to /signin). They call the services the
API calls (services/accounts.py, services/access_tokens.py), so the rules are the API's:
changing the email address or the password checks the current password (throttled like a
login; the address follows the API's rule and may belong to one user only); changing the
password ends every
other session and refresh token of the user, while this browser stays signed in; a token
is listed and revoked only by its owner (and administrators): anyone else's token is "Not
found". A new token's secret appears once, in the answer to the form that made it (it is
never stored: only its HMAC is), with a copy button.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from ..api.docker_auth import client_address
from ..context import uow
from ..domain import errors
from ..domain.model import TOKEN_ACTIONS
from ..services import access_tokens, accounts
from . import bp
from .session import check_form, keep_session, require_user, signin_redirect

EXPIRY_CHOICES = (("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("365", "1 year"),
                  ("", "Never"))  # fmt: skip
ACTIONS = tuple(a for a in ("pull", "push", "delete", "admin") if a in TOKEN_ACTIONS)


@bp.get("/account")
def account():
    me = require_user()
    if me is None:
        return signin_redirect()
    return _account_page(me.user.username, done=bool(request.args.get("done")))


def _account_page(
    username: str, *, done: bool = False, error: str = "", email: str = "", status: int = 200
):
    user = accounts.get_user(uow(), username)
    body = render_template(
        "account.html", user=user, done=done, error=error, email=email or user.email or ""
    )
    return body, status


@bp.post("/account/email")
def change_email():
    check_form()
    me = require_user()
    if me is None:
        return signin_redirect()
    username, email = me.user.username, request.form.get("email", "").strip()
    current = request.form.get("current", "")
    try:
        accounts.change_email(uow(), username, current, email, address=client_address())
    except errors.AuthenticationFailed:
        return _account_page(username, error="The password is wrong.", email=email, status=400)
    except errors.LoginThrottled as exc:
        message = f"Too many failed attempts; try again in {exc.retry_after} seconds."
        return _account_page(username, error=message, email=email, status=429)
    except (errors.Invalid, errors.StateConflict) as exc:
        status = 409 if isinstance(exc, errors.StateConflict) else 400
        return _account_page(username, error=_sentence(exc), email=email, status=status)
    return redirect(url_for("web.account", done=1), 303)


# -- password ---------------------------------------------------------------------------------


@bp.get("/account/password")
def password_form():
    if require_user() is None:
        return signin_redirect()
    return render_template("account_password.html", error=None, done=request.args.get("done"))


@bp.post("/account/password")
def change_password():
    check_form()
    me = require_user()
    if me is None:
        return signin_redirect()
    current = request.form.get("current", "")
    new, again = request.form.get("password", ""), request.form.get("password2", "")
    if new != again:
        return _password_again("The two new passwords differ.", 400)
    username = me.user.username
    try:
        accounts.change_password(uow(), username, current, new, address=client_address())
    except errors.AuthenticationFailed:
        return _password_again("The current password is wrong.", 400)
    except errors.LoginThrottled as exc:
        message = f"Too many failed attempts; try again in {exc.retry_after} seconds."
        return _password_again(message, 429)
    except errors.Invalid as exc:
        return _password_again(str(exc), 400)
    keep_session(accounts.get_user(uow(), username))
    return redirect(url_for("web.password_form", done=1), 303)


def _password_again(message: str, status: int):
    return render_template("account_password.html", error=message, done=None), status


# -- personal access tokens ------------------------------------------------------------------


@bp.get("/account/tokens")
def tokens():
    me = require_user()
    if me is None:
        return signin_redirect()
    return _tokens_page(me, form={"pattern": "*", "actions": ["pull"], "expiry": "30"})


@bp.post("/account/tokens")
def create_token():
    check_form()
    me = require_user()
    if me is None:
        return signin_redirect()
    form = {
        "name": request.form.get("name", ""),
        "pattern": request.form.get("pattern", ""),
        "actions": [a for a in request.form.getlist("actions") if a in ACTIONS],
        "expiry": request.form.get("expiry", ""),
    }
    scopes = [
        {"repository": pattern, "actions": form["actions"]}
        for pattern in form["pattern"].replace(",", " ").split()
    ]
    try:
        days = int(form["expiry"]) if form["expiry"] else None
        token, secret = access_tokens.create_access_token(
            uow(), me, form["name"], scopes, expires_in_days=days
        )
    except ValueError:
        return _tokens_page(me, form=form, error="Choose an expiry from the list.", status=400)
    except errors.Invalid as exc:
        return _tokens_page(me, form=form, error=_sentence(exc), status=400)
    return _tokens_page(me, form={"pattern": "*", "actions": ["pull"], "expiry": "30"},
                        created=(token, secret), status=201)  # fmt: skip


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    check_form()
    me = require_user()
    if me is None:
        return signin_redirect()
    access_tokens.revoke_token(uow(), me, token_id)  # someone else's: AccessTokenNotFound
    return redirect(url_for("web.tokens"), 303)


def _tokens_page(me, *, form: dict, error: str | None = None, created=None, status: int = 200):
    listed = access_tokens.list_tokens(uow(), me)
    body = render_template(
        "account_tokens.html",
        tokens=[t for t in listed if t.revoked_at is None],
        form=form,
        error=error,
        created=created,
        actions=ACTIONS,
        expiries=EXPIRY_CHOICES,
    )
    return body, status


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
