"""Repositories: create/allocate, get, list/search, visibility, description, README,
deletion, collaborators.

Two texts, as on Docker Hub: the *description* (short, at most :data:`MAX_DESCRIPTION`
characters; lists and search show it and search matches it) and the *README* (the full
description, Markdown, at most :data:`MAX_README` characters; only the repository's own
page and its API resource show it, and search never reads it).

Visibility rule: a caller who may not see a private repository gets RepositoryNotFound,
exactly as for a name that does not exist; PermissionDenied only when the repository is
visible to them but the action is not allowed.

Administration -- visibility, description, README, collaborators, deletion (and, through
policy.may_administer, anything added later such as tags and webhooks) -- needs
policy.may_administer: the ``admin`` role, and for access tokens and robots a scope naming
the ``admin`` action. Creating a repository needs push; choosing its visibility or
description at creation is administration too.
"""

from __future__ import annotations

from wharf_protocol import names as protocol_names

from ..domain import errors, policy
from ..domain.model import ROLES, SYSTEM, VISIBILITIES, Collaborator, Principal, Repository
from . import audit, webhook_events
from .unit_of_work import UnitOfWork

MAX_DESCRIPTION = 4000
MAX_README = 100_000


def split_name(full_name: str) -> tuple[str, str]:
    """Return (namespace, rest) of a valid ``namespace/name``; raise NameInvalid."""
    if not isinstance(full_name, str) or not protocol_names.is_valid_repository_name(full_name):
        raise errors.NameInvalid(full_name, "invalid repository name")
    namespace, _, rest = full_name.partition("/")
    if not rest:
        raise errors.NameInvalid(full_name, "repository names are namespace/name")
    return namespace, rest


def _visible(
    uow: UnitOfWork, principal: Principal, full_name: str, *, for_update: bool = False
) -> Repository:
    repository = uow.repositories.find(full_name, for_update=for_update)
    if repository is None or not policy.may_see(principal, repository):
        raise errors.RepositoryNotFound(full_name)
    return repository


def _administered(uow: UnitOfWork, principal: Principal, full_name: str) -> Repository:
    repository = _visible(uow, principal, full_name, for_update=True)
    if not policy.may_administer(principal, repository):
        raise errors.PermissionDenied(f"you may not administer {full_name}")
    return repository


def _check_visibility(visibility: str) -> str:
    if visibility not in VISIBILITIES:
        raise errors.VisibilityInvalid(visibility)
    return visibility


def create_repository(
    uow: UnitOfWork,
    principal: Principal,
    full_name: str,
    *,
    visibility: str | None = None,
    description: str = "",
) -> Repository:
    """Create ``namespace/name`` (visibility defaults to the namespace's default).

    Raises NameInvalid, NamespaceNotFound, PermissionDenied, RepositoryExists,
    VisibilityInvalid, ValueInvalid (description too long).
    """
    namespace_name, rest = split_name(full_name)
    if visibility is not None:
        _check_visibility(visibility)
    if len(description) > MAX_DESCRIPTION:
        raise errors.ValueInvalid("description", f"at most {MAX_DESCRIPTION} characters")
    with uow:
        namespace = uow.namespaces.get(namespace_name)
        if not policy.may_create_repository(principal, namespace, full_name):
            raise errors.PermissionDenied(f"you may not create repositories in {namespace_name}")
        chosen = visibility not in (None, namespace.default_visibility) or description
        if chosen and not policy.scope_names_admin(principal, full_name):
            raise errors.PermissionDenied(
                "choosing visibility or a description needs a token scope naming admin"
            )
        repository = uow.repositories.create(
            namespace.id,
            namespace.name,
            rest,
            visibility or namespace.default_visibility,
            description,
        )
        if repository is None:
            raise errors.RepositoryExists(full_name)
        audit.record(
            uow,
            principal,
            "repository.create",
            "repository",
            full_name,
            namespace_id=namespace.id,
            repository_id=repository.id,
            detail={"visibility": repository.visibility},
        )
        return repository


def ensure_repository(uow: UnitOfWork, principal: Principal, full_name: str) -> Repository | None:
    """Return the repository, allocating it when absent and the principal may create it.

    None when it does not exist and may not be created (or the name is invalid or its
    namespace unknown): scenario B, "push is simply not granted".
    """
    with uow:
        existing = uow.repositories.find(full_name)
        if existing is not None:
            return existing
        try:
            namespace_name, _ = split_name(full_name)
        except errors.NameInvalid:
            return None
        namespace = uow.namespaces.find(namespace_name)
        if namespace is None or not policy.may_create_repository(principal, namespace, full_name):
            return None
        try:
            return create_repository(uow, principal, full_name)
        except errors.RepositoryExists:  # created concurrently: take it
            return uow.repositories.find(full_name)


def get_repository(uow: UnitOfWork, principal: Principal, full_name: str) -> Repository:
    """Return the repository if ``principal`` may see it; RepositoryNotFound otherwise."""
    with uow:
        return _visible(uow, principal, full_name)


def list_repositories(
    uow: UnitOfWork,
    principal: Principal,
    *,
    namespace: str | None = None,
    query: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[Repository]:
    """Repositories visible to ``principal`` by full name (keyset ``after``), optionally in
    one namespace and/or matching ``query`` (substring of name or description).

    Raises NamespaceNotFound for an unknown ``namespace``.
    """
    with uow:
        namespace_id = uow.namespaces.get(namespace).id if namespace else None
        found = uow.repositories.list_visible(
            principal, namespace_id=namespace_id, query=query, after=after, limit=limit
        )
    if principal.scopes is not None:
        found = [r for r in found if policy.may_see(principal, r)]
    return found


def _check_text(field: str, value: object, limit: int) -> None:
    if not isinstance(value, str) or len(value) > limit:
        raise errors.ValueInvalid(field, f"at most {limit} characters")


def update_repository(
    uow: UnitOfWork,
    principal: Principal,
    full_name: str,
    *,
    visibility: str | None = None,
    description: str | None = None,
    readme: str | None = None,
) -> Repository:
    """Change the given ones of visibility, description and README (repository admins), all
    in one transaction: every value is checked first, so a refused one changes nothing."""
    if visibility is not None:
        _check_visibility(visibility)
    if description is not None:
        _check_text("description", description, MAX_DESCRIPTION)
    if readme is not None:
        _check_text("readme", readme, MAX_README)
    with uow:
        repository = _administered(uow, principal, full_name)
        changes = (
            ("visibility", visibility, uow.repositories.set_visibility),
            ("description", description, uow.repositories.set_description),
            ("readme", readme, uow.repositories.set_readme),
        )
        for field, value, store in changes:
            if value is None:
                continue
            store(repository.id, value)
            audit.record(
                uow,
                principal,
                f"repository.set_{field}",
                "repository",
                full_name,
                namespace_id=repository.namespace_id,
                repository_id=repository.id,
                detail={"visibility": value} if field == "visibility" else None,
            )
        return uow.repositories.get(full_name)


def set_visibility(
    uow: UnitOfWork, principal: Principal, full_name: str, visibility: str
) -> Repository:
    """Make a repository public or private (repository admins)."""
    return update_repository(uow, principal, full_name, visibility=visibility)


def set_description(
    uow: UnitOfWork, principal: Principal, full_name: str, description: str
) -> Repository:
    """Replace a repository's description (repository admins)."""
    return update_repository(uow, principal, full_name, description=description)


def get_readme(uow: UnitOfWork, principal: Principal, full_name: str) -> str:
    """The repository's README if ``principal`` may see it; RepositoryNotFound otherwise."""
    with uow:
        return uow.repositories.readme(_visible(uow, principal, full_name).id)


def set_readme(uow: UnitOfWork, principal: Principal, full_name: str, readme: str) -> Repository:
    """Replace a repository's README (repository admins, as for the description)."""
    return update_repository(uow, principal, full_name, readme=readme)


def set_namespace_visibility(
    uow: UnitOfWork, principal: Principal, namespace: str, visibility: str
) -> None:
    """Set the default visibility of new repositories in ``namespace`` (its owners)."""
    _check_visibility(visibility)
    with uow:
        found = uow.namespaces.get(namespace)
        if not policy.may_administer_namespace(principal, found):
            raise errors.PermissionDenied(f"only owners of {namespace} may do that")
        uow.namespaces.set_default_visibility(found.id, visibility)
        audit.record(
            uow,
            principal,
            "namespace.set_visibility",
            "namespace",
            namespace,
            namespace_id=found.id,
            detail={"visibility": visibility},
        )


def mark_deleting(uow: UnitOfWork, principal: Principal, full_name: str) -> Repository:
    """Start deleting a repository: status 'deleting' (repository admins; idempotent)."""
    with uow:
        repository = _administered(uow, principal, full_name)
        uow.repositories.set_status(repository.id, "deleting")
        audit.record(
            uow,
            principal,
            "repository.delete_requested",
            "repository",
            full_name,
            namespace_id=repository.namespace_id,
            repository_id=repository.id,
        )
        return uow.repositories.get(full_name)


def delete_repository(uow: UnitOfWork, full_name: str, *, principal: Principal = SYSTEM) -> bool:
    """Remove every record of a repository; False when it did not exist (idempotent).

    For the registry's repository-deleted event (SYSTEM) or administrators; others call
    :func:`mark_deleting` first and need ``delete``. Queues the ``repository_deleted``
    webhook deliveries first; the repository's own webhooks stay (repository_id NULL) until
    those are sent (housekeeping removes them then).
    """
    with uow:
        repository = uow.repositories.find(full_name, for_update=True)
        if repository is None:
            return False
        if "delete" not in policy.allowed_actions(principal, repository):
            raise (
                errors.RepositoryNotFound(full_name)
                if not policy.may_see(principal, repository)
                else errors.PermissionDenied()
            )
        actor = principal.user.username if principal.user is not None else ""
        webhook_events.repository_deleted(uow, repository, actor=actor)
        uow.repositories.delete(repository.id)
        audit.record(
            uow,
            principal,
            "repository.delete",
            "repository",
            full_name,
            namespace_id=repository.namespace_id,
        )
        return True


def set_collaborator(
    uow: UnitOfWork, principal: Principal, full_name: str, username: str, role: str
) -> None:
    """Give ``username`` ``role`` (read, write, admin) on a repository (repository admins)."""
    if role not in ROLES:
        raise errors.RoleInvalid(role)
    with uow:
        repository = _administered(uow, principal, full_name)
        user = uow.users.get(username)
        uow.repositories.set_collaborator(repository.id, user.id, role)
        audit.record(
            uow,
            principal,
            "repository.set_collaborator",
            "repository",
            full_name,
            namespace_id=repository.namespace_id,
            repository_id=repository.id,
            detail={"user": username, "role": role},
        )


def remove_collaborator(
    uow: UnitOfWork, principal: Principal, full_name: str, username: str
) -> None:
    with uow:
        repository = _administered(uow, principal, full_name)
        if not uow.repositories.remove_collaborator(repository.id, uow.users.get(username).id):
            raise errors.UserNotFound(username)
        audit.record(
            uow,
            principal,
            "repository.remove_collaborator",
            "repository",
            full_name,
            namespace_id=repository.namespace_id,
            repository_id=repository.id,
            detail={"user": username},
        )


def list_collaborators(uow: UnitOfWork, principal: Principal, full_name: str) -> list[Collaborator]:
    with uow:
        return uow.repositories.collaborators(_administered(uow, principal, full_name).id)
