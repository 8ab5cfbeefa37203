"""``/admin/invitations``: administrators make, list and revoke invitations to sign up.

A new invitation's link appears once, in the answer to the form that made it (only the
token's HMAC is stored: services/invitations.py). Visitors who are not signed in are sent
to /signin; signed-in users who are not administrators get "Not found".
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, redirect, render_template, request, url_for

from ..api.rest.invitations import signup_link
from ..context import uow
from ..domain import errors
from ..services import invitations
from . import bp
from .session import check_form, require_user, signin_redirect
from .signup import mode


def _admin():
    """The administrator asking, None for anonymous visitors; 404 for everyone else."""
    me = require_user()
    if me is not None and not me.is_admin:
        abort(404)
    return me


@bp.get("/admin/invitations")
def invitations_page():
    me = _admin()
    if me is None:
        return signin_redirect()
    return _page(me, form={"email": "", "days": str(invitations.DEFAULT_DAYS)})


@bp.post("/admin/invitations")
def create_invitation():
    check_form()
    me = _admin()
    if me is None:
        return signin_redirect()
    form = {"email": request.form.get("email", "").strip(), "days": request.form.get("days", "")}
    try:
        days = int(form["days"])
    except ValueError:
        return _page(me, form=form, error="The expiry must be a number of days.", status=400)
    try:
        invitation, token = invitations.create_invitation(
            uow(), me, email=form["email"] or None, expires_in_days=days
        )
    except errors.Invalid as exc:
        return _page(me, form=form, error=f"{str(exc)[:1].upper()}{str(exc)[1:]}.", status=400)
    return _page(
        me,
        form={"email": "", "days": str(invitations.DEFAULT_DAYS)},
        created=(invitation, signup_link(token)),
        status=201,
    )


@bp.post("/admin/invitations/<int:invitation_id>/revoke")
def revoke_invitation(invitation_id: int):
    check_form()
    me = _admin()
    if me is None:
        return signin_redirect()
    invitations.revoke_invitation(uow(), me, invitation_id)
    return redirect(url_for("web.invitations_page"), 303)


def _page(me, *, form: dict, error: str | None = None, created=None, status: int = 200):
    body = render_template(
        "admin_invitations.html",
        invitations=invitations.list_invitations(uow(), me, limit=1000),
        form=form,
        error=error,
        created=created,
        signup=mode(),
        max_days=invitations.MAX_DAYS,
        now=datetime.now(UTC),
    )
    return body, status
