"""Collaborators of a repository: users given read, write or admin on it (repository
administrators manage them; for others the repository's privacy rule applies)."""

from __future__ import annotations

from ...context import uow
from ...services import repositories
from . import bp
from .auth import require_user
from .inputs import load
from .openapi import doc
from .pagination import paged_list
from .schemas import CollaboratorIn, CollaboratorSchema


@bp.get("/repositories/<api_repo:name>/-/collaborators")
@doc(auth="user", response=CollaboratorSchema, paginated=True)
def list_collaborators(name: str):
    """List a repository's collaborators and their roles (repository admins)."""
    found = repositories.list_collaborators(uow(), require_user(), name)
    return paged_list(
        "collaborators", (str,), found, lambda c: (c.username,), CollaboratorSchema(many=True).dump
    )


@bp.put("/repositories/<api_repo:name>/-/collaborators/<username>")
@doc(auth="user", body=CollaboratorIn, status=204)
def put_collaborator(name: str, username: str):
    """Give a user a role (read, write, admin) on the repository (repository admins)."""
    data = load(CollaboratorIn)
    repositories.set_collaborator(uow(), require_user(), name, username, data["role"])
    return "", 204


@bp.delete("/repositories/<api_repo:name>/-/collaborators/<username>")
@doc(auth="user", status=204)
def delete_collaborator(name: str, username: str):
    """Remove a collaborator (repository admins)."""
    repositories.remove_collaborator(uow(), require_user(), name, username)
    return "", 204
