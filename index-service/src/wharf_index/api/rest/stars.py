"""Stars: star and unstar a repository, its count, and the repositories a user starred.

A star needs only that the caller can see the repository; private ones behave as absent.
Starring is the person's own act: it needs a password login or a session (access tokens,
made for registries and scripts, get 403).
"""

from __future__ import annotations

from ...context import uow
from ...services import stars
from . import bp
from .auth import principal, require_account
from .openapi import doc
from .pagination import page_body, page_request
from .repositories import repository_rows
from .schemas import RepositorySchema, StarsSchema


def _answer(name: str, count: int, starred: bool) -> dict:
    return StarsSchema().dump({"repository": name, "star_count": count, "starred": starred})


@bp.get("/repositories/<api_repo:name>/-/stars")
@doc(auth="optional", response=StarsSchema)
def get_stars(name: str):
    """Return the repository's star count and whether the caller starred it."""
    repository, count, starred = stars.summary(uow(), principal(), name)
    return _answer(repository.full_name, count, starred)


@bp.put("/repositories/<api_repo:name>/-/stars")
@doc(auth="account", response=StarsSchema)
def star_repository(name: str):
    """Star the repository (idempotent)."""
    count, starred = stars.star(uow(), require_account(), name)
    return _answer(name, count, starred)


@bp.delete("/repositories/<api_repo:name>/-/stars")
@doc(auth="account", response=StarsSchema)
def unstar_repository(name: str):
    """Remove the caller's star (idempotent)."""
    count, starred = stars.unstar(uow(), require_account(), name)
    return _answer(name, count, starred)


@bp.get("/users/<username>/stars")
@doc(auth="optional", response=RepositorySchema, paginated=True)
def list_starred(username: str):
    """List the repositories a user starred, those the caller may see, by full name."""
    wanted = page_request("starred", (str,))
    page = stars.starred_by(uow(), principal(), username, after=wanted.after, limit=wanted.limit)
    return page_body("starred", page, RepositorySchema(many=True).dump(repository_rows(page.items)))
