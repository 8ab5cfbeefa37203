"""``GET /u/<username>``: a user's page.

The user's repositories the visitor may see (services/repositories.list_repositories: the
private ones only for those allowed), the stars they gathered, and the organisations they
belong to as far as the visitor may see those organisations' members (the API's rule:
members and administrators). An unknown or disabled user, a robot (for everyone but
administrators, as ``GET /api/v1/users/<name>``) and an organisation's name are Not found.
"""

from __future__ import annotations

from flask import render_template

from ..context import uow
from ..domain import errors
from ..services import accounts, explore, orgs, repositories
from . import bp
from .session import principal

LISTED = 100


@bp.get("/u/<username>")
def user_page(username: str):
    viewer = principal()
    user = accounts.get_user(uow(), username)
    if user.disabled or (user.is_robot and not viewer.is_admin) or user.namespace_id is None:
        raise errors.UserNotFound(username)
    found = repositories.list_repositories(uow(), viewer, namespace=username, limit=LISTED + 1)
    rows = explore.listed(uow(), found[:LISTED])
    return render_template(
        "user.html",
        person=user,
        rows=rows,
        more=len(found) > LISTED,
        stars=sum(row.stars for row in rows),
        orgs=orgs.memberships(uow(), username, viewer),
    )
