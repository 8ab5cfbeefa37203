"""Invitations to sign up (administrators): make one (its token and link are in this
answer only), list them, revoke one. Whoever holds a link may create one account on
``/signup?invite=<token>`` while INDEX_SIGNUP is ``invite`` or ``open``
(services/invitations.py).
"""

from __future__ import annotations

from urllib.parse import urlencode

from ...context import current, uow
from ...services import invitations
from . import bp
from .auth import require_admin
from .inputs import load
from .openapi import doc
from .pagination import paged_list
from .schemas import InvitationCreatedSchema, InvitationCreateIn, InvitationSchema


def signup_link(token: str) -> str:
    """The absolute sign-up link of an invitation token (INDEX_PUBLIC_URL)."""
    base = current().settings.public_url.rstrip("/")
    return f"{base}/signup?{urlencode({'invite': token})}"


@bp.get("/invitations")
@doc(auth="admin", response=InvitationSchema, paginated=True)
def list_invitations():
    """List invitations (administrators), oldest first."""
    found = sorted(invitations.list_invitations(uow(), require_admin()), key=lambda i: i.id)
    return paged_list(
        "invitations", (int,), found, lambda i: (i.id,), InvitationSchema(many=True).dump
    )


@bp.post("/invitations")
@doc(
    auth="admin",
    body=InvitationCreateIn,
    response=InvitationCreatedSchema,
    status=201,
    links={"invitation_id": "invitation/id"},
)
def create_invitation():
    """Make an invitation; the answer holds its token and sign-up link, shown only once."""
    caller = require_admin()
    data = load(InvitationCreateIn)
    invitation, token = invitations.create_invitation(
        uow(), caller, email=data["email"], expires_in_days=data["expires_in_days"]
    )
    body = {"invitation": invitation, "token": token, "link": signup_link(token)}
    return InvitationCreatedSchema().dump(body), 201


@bp.delete("/invitations/<api_id:invitation_id>")
@doc(auth="admin", status=204, errors=(404,))
def revoke_invitation(invitation_id: int):
    """Revoke an invitation (idempotent; a used one stays used)."""
    invitations.revoke_invitation(uow(), require_admin(), invitation_id)
    return "", 204
