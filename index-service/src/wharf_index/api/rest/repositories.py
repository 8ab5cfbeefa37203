"""Repositories: list, create, get, change visibility/description/README, delete; namespace
default. The README is on the one repository resource only (GET, PATCH and the answers
about one repository), never in lists or search.

Delete is scenario C (services/deletion.py): the repository is marked ``deleting`` (it
stops serving pulls and pushes at once), the Index calls the registries holding it with a
short-lived delete token and, once they accepted, removes every record. The answer is
``202 Accepted`` with ``status`` ``deleted`` (done) or ``deleting`` (a registry could not be
reached: the Index re-drives the deletion later; repeating the request retries at once).
"""

from __future__ import annotations

from dataclasses import fields

from ...context import current, uow
from ...domain import errors, policy
from ...domain.model import Principal, Repository
from ...services import chaining, deletion, repositories, search, stars
from . import bp
from .auth import principal, require_account, require_user
from .inputs import NAMESPACE_FILTER, load, query
from .openapi import doc
from .pagination import page_body, page_request
from .schemas import (
    NamespaceUpdateIn,
    RepositoryCreateIn,
    RepositoryDetailSchema,
    RepositorySchema,
    RepositoryUpdateIn,
)

_REPOSITORY_FIELDS = tuple(f.name for f in fields(Repository))


def repository_row(repository: Repository, **extra) -> dict:
    """The fields the repository schemas dump (dataclass fields, full name, extras).

    A shallow copy: ``dataclasses.asdict`` deep-copies every value (datetimes included),
    which cost ~60 us per repository, a third of a search page's Python time."""
    row = {name: getattr(repository, name) for name in _REPOSITORY_FIELDS}
    row.update(full_name=repository.full_name, **extra)
    return row


def repository_rows(items: list[Repository]) -> list[dict]:
    return [repository_row(r) for r in items]


def _detail(caller: Principal, name: str) -> dict:
    repository, _, starred = stars.summary(uow(), caller, name)
    actions = policy.allowed_actions(caller, repository)
    permissions = {a: a in actions for a in ("pull", "push", "delete")}
    permissions["admin"] = policy.may_administer(caller, repository)
    readme = repositories.get_readme(uow(), caller, name)
    placed = chaining.hand_out(uow(), repository)
    row = repository_row(
        repository, starred=starred, permissions=permissions, readme=readme, registries=placed
    )
    return RepositoryDetailSchema().dump(row)


@bp.get("/repositories")
@doc(
    auth="optional",
    response=RepositorySchema,
    paginated=True,
    query=(NAMESPACE_FILTER,),
    errors=(404,),
)
def list_repositories():
    """List the repositories the caller may see by full name, optionally in a namespace."""
    wanted = page_request("repositories", (str,))
    page = search.browse(
        uow(),
        principal(),
        namespace=query(NAMESPACE_FILTER),
        after=wanted.after,
        limit=wanted.limit,
    )
    return page_body(
        "repositories", page, RepositorySchema(many=True).dump(repository_rows(page.items))
    )


@bp.post("/repositories")
@doc(
    auth="user",
    body=RepositoryCreateIn,
    response=RepositoryDetailSchema,
    status=201,
    errors=(404, 409),
    links={"name": "full_name"},
)
def create_repository():
    """Create a repository (``name`` is ``namespace/name``; visibility defaults to the
    namespace's default)."""
    caller = require_user()
    data = load(RepositoryCreateIn)
    created = repositories.create_repository(
        uow(),
        caller,
        data["name"],
        visibility=data.get("visibility"),
        description=data["description"],
    )
    return _detail(caller, created.full_name), 201


@bp.get("/repositories/<api_repo:name>")
@doc(auth="optional", response=RepositoryDetailSchema)
def get_repository(name: str):
    """Return a repository with its star count and the caller's permissions."""
    return _detail(principal(), name)


@bp.patch("/repositories/<api_repo:name>")
@doc(auth="user", body=RepositoryUpdateIn, response=RepositoryDetailSchema)
def update_repository(name: str):
    """Change visibility, description and/or readme, all or nothing (repository admins;
    access tokens with a scope naming ``admin``)."""
    caller = require_user()
    data = load(RepositoryUpdateIn)
    if not data:
        raise errors.ValueInvalid("_body", "give visibility, description and/or readme")
    repositories.update_repository(
        uow(),
        caller,
        name,
        visibility=data.get("visibility"),
        description=data.get("description"),
        readme=data.get("readme"),
    )
    return _detail(caller, name)


@bp.delete("/repositories/<api_repo:name>")
@doc(auth="user", response=RepositorySchema, status=202)
def delete_repository(name: str):
    """Delete a repository here and at its registries (its admins; access tokens with a
    scope naming ``admin``); 202, ``status`` ``deleted`` or (registry unreachable, retried
    later) ``deleting``."""
    result = deletion.request_deletion(uow(), current().agent, require_user(), name)
    row = repository_rows([result.repository])[0] | {"status": result.status}
    return RepositorySchema().dump(row), 202


@bp.patch("/namespaces/<namespace>")
@doc(auth="account", body=NamespaceUpdateIn, status=204)
def update_namespace(namespace: str):
    """Set the default visibility of new repositories in a namespace (its owners)."""
    data = load(NamespaceUpdateIn)
    repositories.set_namespace_visibility(
        uow(), require_account(), namespace, data["default_visibility"]
    )
    return "", 204
