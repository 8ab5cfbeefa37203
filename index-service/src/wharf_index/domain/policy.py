"""Who may pull, push and delete what: pure functions over a Principal and a Repository.

The rules (the README's "Roles" decision; docs/architecture.md, "The token protocol"):

- a repository's role for a user is the highest of: the namespace grant (own namespace and
  organisations they own: ``admin``; a team with ``all_repositories``: its role) and the
  repository grant (collaborator role; a team granted this repository: its role). Robots
  hold ``admin`` over their owner's namespace (bounded by their token's scopes, below).
  Roles map to actions: read -> pull; write -> pull, push; admin -> pull, push, delete.
- administrators may do everything;
- anyone, anonymous included, may pull a public repository;
- a repository being deleted (status ``deleting``) allows nothing but ``delete``;
- an access token (personal or robot) limits all of the above to its scopes: the actions of
  the scopes whose pattern matches the repository's full name;
- a registry serves the namespaces it declared; one that declared none serves every
  namespace (scenario E): tokens for a registry and the events a registry sends reach only
  repositories of the namespaces it serves;
- administration of a repository (visibility, description, collaborators, deleting it or
  its tags, webhooks: :func:`may_administer`) needs the ``admin`` role and, for access
  tokens and robots, a matching scope that names the ``admin`` action explicitly: ``*``
  stands for the registry actions pull, push and delete only, so a token made for Docker
  never administers anything;
- creating a repository in a namespace needs ``write`` or ``admin`` over the whole
  namespace (or administrator), and, for tokens, ``push`` in a scope matching the new name;
- a repository that does not exist yet gets the actions of the principal's namespace-wide
  role (own namespace, organisations owned, teams with all repositories) except ``push``,
  which allocates it first (services.access): so whoever could create it may pull it (and
  its namespace admins delete), and a registry answers them "unknown" rather than
  "unauthorised"; everybody else gets nothing, exactly as for a private repository.

Unknown or disabled users are the services' concern: a Principal is only built for an
authenticated, enabled user.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from wharf_protocol.scopes import Scope

from .model import ACTIONS, ADMIN_ACTION, Namespace, Principal, Repository

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"pull"}),
    "write": frozenset({"pull", "push"}),
    "admin": frozenset({"pull", "push", "delete"}),
}
_RANK = {"read": 1, "write": 2, "admin": 3}
ALL_ACTIONS = frozenset(ACTIONS)


def highest_role(*roles: str | None) -> str | None:
    """Return the strongest of ``roles`` (None when all are None)."""
    present = [r for r in roles if r]
    return max(present, key=_RANK.__getitem__) if present else None


def role_for(principal: Principal, repository: Repository) -> str | None:
    """Return the principal's role on ``repository`` from its grants, ignoring scopes."""
    if principal.user is None:
        return None
    if principal.is_admin:
        return "admin"
    grants = principal.grants
    return highest_role(
        grants.namespaces.get(repository.namespace_id), grants.repositories.get(repository.id)
    )


def scope_actions(principal: Principal, full_name: str) -> frozenset[str]:
    """Return what the principal's token scopes allow on ``full_name`` (all if unscoped)."""
    if principal.scopes is None:
        return ALL_ACTIONS
    allowed: set[str] = set()
    for scope in principal.scopes:
        if scope.matches(full_name):
            allowed |= ALL_ACTIONS if "*" in scope.actions else scope.actions
    return frozenset(allowed & ALL_ACTIONS)


def allowed_actions(principal: Principal, repository: Repository) -> frozenset[str]:
    """Return the subset of {pull, push, delete} ``principal`` may do on ``repository``."""
    role = role_for(principal, repository)
    actions = set(ROLE_ACTIONS[role]) if role else set()
    if repository.is_public:
        actions.add("pull")
    if repository.status == "deleting":
        actions &= {"delete"}
    return frozenset(actions) & scope_actions(principal, repository.full_name)


def scope_names_admin(principal: Principal, full_name: str) -> bool:
    """Tell whether the principal's scopes name ``admin`` for ``full_name`` explicitly
    (True when unscoped: a password login or a session)."""
    if principal.scopes is None:
        return True
    return any(ADMIN_ACTION in s.actions and s.matches(full_name) for s in principal.scopes)


def may_see(principal: Principal, repository: Repository) -> bool:
    """Tell whether the repository's existence may be revealed (pull or any role)."""
    return (
        repository.is_public
        or bool(allowed_actions(principal, repository))
        or may_administer(principal, repository)
    )


def may_administer(principal: Principal, repository: Repository) -> bool:
    """Tell whether the principal may administer a repository: change its visibility,
    description, collaborators and webhooks, delete it or its tags.

    Needs the ``admin`` role on it and, for access tokens and robots, a scope matching it
    that names ``admin`` (never implied by ``*``). Every administrative route calls this.
    """
    return role_for(principal, repository) == "admin" and scope_names_admin(
        principal, repository.full_name
    )


def may_create_repository(
    principal: Principal, namespace: Namespace, full_name: str | None = None
) -> bool:
    """Tell whether the principal may create a repository (``full_name``) in ``namespace``."""
    if principal.user is None:
        return False
    if full_name is not None and "push" not in scope_actions(principal, full_name):
        return False
    if principal.is_admin:
        return True
    return _RANK.get(principal.grants.namespaces.get(namespace.id, ""), 0) >= _RANK["write"]


def may_administer_namespace(principal: Principal, namespace: Namespace) -> bool:
    """Tell whether the principal owns ``namespace`` (its user, an org owner, an admin)."""
    if principal.user is None:
        return False
    return principal.is_admin or principal.grants.namespaces.get(namespace.id) == "admin"


def registry_serves(declared: Collection[str], namespace: str) -> bool:
    """Tell whether a registry that declared the namespaces ``declared`` serves
    ``namespace`` (all of them when it declared none)."""
    return not declared or namespace in declared


def absent_actions(
    principal: Principal, namespace: Namespace | None, full_name: str
) -> frozenset[str]:
    """Return what ``principal`` may do on ``full_name``, which does not exist (yet), in
    ``namespace`` (None: unknown namespace or invalid name).

    The actions of the principal's namespace-wide role except ``push`` (pushing allocates
    the repository first), cut down to its scopes; nothing for anyone without such a role.
    """
    if principal.user is None or namespace is None:
        return frozenset()
    role = "admin" if principal.is_admin else principal.grants.namespaces.get(namespace.id)
    if role is None:
        return frozenset()
    return (ROLE_ACTIONS[role] - {"push"}) & scope_actions(principal, full_name)


#: What ``registry:catalog`` grants: ``*`` (Distribution's catalog scope) and ``search``
#: (the scope Docker asks for ``docker search`` at a registry that answers V2).
CATALOG_ACTIONS = frozenset({"*", "search"})


def grant(
    principal: Principal,
    requested: Iterable[Scope],
    resolve: Callable[[str], Repository | None],
    resolve_namespace: Callable[[str], Namespace | None] = lambda name: None,
) -> tuple[Scope, ...]:
    """Cut ``requested`` scopes down to what is allowed; never raise for asking too much.

    ``resolve(full_name)`` returns the repository or None; for None,
    ``resolve_namespace(full_name)`` returns the namespace the name would be in (or None)
    and :func:`absent_actions` decides (push never: allocate first, see
    services.access.authorize). ``registry:catalog`` (``*`` and Docker's ``search``) is
    granted to every caller, anonymous included: it lets a caller list or search the
    repositories it may see, never more (a registry asks the Index which names of its
    catalog the token's caller may pull: services.catalog; services.tokens keeps ``*`` for
    administrators at a registry that does not filter). Other resource types grant nothing.
    """
    granted: list[Scope] = []
    for scope in requested:
        if scope.type == "repository":
            repository = resolve(scope.name)
            if repository is not None:
                allowed = allowed_actions(principal, repository)
            else:
                allowed = absent_actions(principal, resolve_namespace(scope.name), scope.name)
            wanted = ALL_ACTIONS if "*" in scope.actions else scope.actions
            actions = wanted & allowed  # "*" asked: granted as the explicit actions
        elif scope.type == "registry" and scope.name == "catalog":
            actions = scope.actions & CATALOG_ACTIONS
        else:
            actions = frozenset()
        if actions:
            granted.append(Scope(scope.type, scope.name, actions))
    return tuple(granted)
