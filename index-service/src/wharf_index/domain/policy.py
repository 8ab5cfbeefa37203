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
- a registry's kind bounds all of the above for the tokens of that registry
  (:func:`registry_actions`, the README's "Registry kinds"): ``private`` serves signed-in
  callers only; ``mirror`` is read-only, serves signed-in callers with a role in the
  repository (its namespaces' members: a public repository is no exception) and only its
  declared namespaces; ``vendor`` only its declared namespaces; ``sponsor`` adds nothing;
- a namespace's route (services/routes.py) names the registries that take its pushes: a
  token for any other registry grants a signed-in caller no push there (pulls stay), and
  the request is refused naming where pushes go (:func:`kind_refusal`);
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

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from wharf_protocol.names import namespace_of
from wharf_protocol.scopes import Scope

from .model import (
    ACTIONS,
    ADMIN_ACTION,
    REGISTRY_KINDS,
    Namespace,
    Principal,
    Registry,
    Repository,
)

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


def allowed_actions(
    principal: Principal, repository: Repository, *, public_pull: bool = True
) -> frozenset[str]:
    """Return the subset of {pull, push, delete} ``principal`` may do on ``repository``;
    without ``public_pull`` a public repository gives nobody pull (a mirror's rule)."""
    role = role_for(principal, repository)
    actions = set(ROLE_ACTIONS[role]) if role else set()
    if repository.is_public and public_pull:
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

PRIVATE, SPONSOR, MIRROR, VENDOR = REGISTRY_KINDS
#: Kinds that serve signed-in callers only (no anonymous token grants anything there).
SIGNED_IN_KINDS = frozenset({PRIVATE, MIRROR})
#: Kinds that serve only the namespaces they declared (none declared: none served).
OWN_NAMESPACE_KINDS = frozenset({MIRROR, VENDOR})
#: What a mirror may grant at most: it is read-only.
MIRROR_ACTIONS = frozenset({"pull"})


@dataclass(frozen=True)
class RegistryRules:
    """What the policy needs of the registry a token is for (its audience): its name, kind
    (``REGISTRY_KINDS``), the namespaces it declared serving (empty: it declared none) and
    the routes of the namespaces asked about (namespace -> the registries that take its
    pushes, first first; a namespace without a route is absent). A route bounds push only,
    so a question about pulls alone may leave ``routes`` empty."""

    name: str
    kind: str
    namespaces: frozenset[str] = frozenset()
    routes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, registry: Registry) -> RegistryRules:
        """The rules of a directory entry, for questions about pulls (no routes)."""
        return cls(registry.name, registry.kind, frozenset(registry.namespaces))


@dataclass(frozen=True)
class Verdict:
    """The actions granted for one requested scope and, when the registry's kind withheld
    some of those asked, why (a sentence a client can show; it never depends on whether a
    repository exists or on its visibility, so it reveals nothing)."""

    actions: frozenset[str]
    reason: str | None = None


#: What a route withholds at the registries it does not name: push only. Deleting what such
#: a registry already holds (pushed there before the route) stays possible, and the v1
#: handshake's delete token (DELETE /v1/repositories/NAME/) is for the first holder.
ROUTED_ACTIONS = frozenset({"push"})


def kind_ceiling(registry: RegistryRules, principal: Principal, scope: Scope) -> Verdict:
    """The most the kind, namespaces and routes of ``registry`` let ``principal`` do with
    ``scope``, whatever the repository (so it also bounds what may be allocated), with the
    reason it gives when that is less than everything.

    A route of the scope's namespace that does not name ``registry`` withholds push from
    signed-in callers, saying where the namespace's pushes go (routes are shown to
    signed-in users, never to anonymous callers, who may not push anyway)."""
    kind, name = registry.kind, registry.name
    anonymous = principal.user is None
    if scope.type == "registry" and scope.name == "catalog":
        if anonymous and kind in SIGNED_IN_KINDS:
            return Verdict(frozenset(), f"{name} is a {kind} registry: sign in to list it")
        return Verdict(CATALOG_ACTIONS)
    if scope.type != "repository":
        return Verdict(frozenset())
    if kind in OWN_NAMESPACE_KINDS and not registry.namespaces:
        return Verdict(frozenset(), f"{name} is a {kind} registry that serves no namespace yet")
    if not registry_serves(registry.namespaces, namespace_of(scope.name)):
        return Verdict(
            frozenset(),
            f"{scope.name}: {name} serves only its own namespaces, not {namespace_of(scope.name)}",
        )
    if anonymous and kind in SIGNED_IN_KINDS:
        return Verdict(frozenset(), f"{name} is a {kind} registry: sign in to pull {scope.name}")
    if kind == MIRROR:
        return Verdict(MIRROR_ACTIONS, f"{name} is a mirror: it is read-only (pull only)")
    route = registry.routes.get(namespace_of(scope.name), ())
    if route and name not in route and not anonymous:
        return Verdict(
            ALL_ACTIONS - ROUTED_ACTIONS,
            f"{scope.name}: pushes of {namespace_of(scope.name)} go to {', '.join(route)},"
            f" not {name}",
        )
    return Verdict(ALL_ACTIONS)


def registry_actions(
    registry: RegistryRules | None,
    principal: Principal,
    scope: Scope,
    repository: Repository | None,
    namespace: Namespace | None = None,
) -> Verdict:
    """What ``principal`` is granted of ``scope`` in a token for ``registry``: the one
    place where the registry's kind and namespaces (:func:`kind_ceiling`), the caller's
    roles and token scopes and the repository's visibility and state meet.

    ``repository``: the scope's repository, None when it does not exist (then
    :func:`absent_actions` in ``namespace`` decides: push never, allocate first, see
    services.access.authorize). ``registry`` None: no registry's rules (the v1 handshake's
    question "may this caller push here at all"). ``registry:catalog`` (``*`` and Docker's
    ``search``) is granted to every caller the kind serves: it lets a caller list or search
    the repositories it may see, never more (a registry asks the Index which names of its
    catalog the token's caller may pull: services.catalog; services.tokens keeps ``*`` for
    administrators at a registry that does not filter). Other resource types grant nothing.
    """
    if scope.type == "repository":
        wanted = ALL_ACTIONS if "*" in scope.actions else scope.actions  # "*": the actions
        if repository is not None:
            public_pull = registry is None or registry.kind != MIRROR
            allowed = allowed_actions(principal, repository, public_pull=public_pull)
        else:
            allowed = absent_actions(principal, namespace, scope.name)
    elif scope.type == "registry" and scope.name == "catalog":
        wanted = allowed = scope.actions & CATALOG_ACTIONS
    else:
        return Verdict(frozenset())
    if registry is None:
        return Verdict(wanted & allowed)
    ceiling = kind_ceiling(registry, principal, scope)
    withheld = bool(wanted - ceiling.actions) and ceiling.reason is not None
    return Verdict(wanted & allowed & ceiling.actions, ceiling.reason if withheld else None)


def kind_refusal(
    registry: RegistryRules, principal: Principal, requested: Iterable[Scope]
) -> str | None:
    """The reason to refuse a token request for ``registry`` outright (None: issue the
    token, with what :func:`registry_actions` grants), for the cases where the token could
    only be useless to what the client is doing, so that it says why instead of a bare
    "unauthorized": an anonymous request at a kind that serves signed-in callers only, a
    push or delete at a mirror, a signed-in push of a namespace whose route names other
    registries, and a request to a mirror or vendor whose repositories all
    lie outside its namespaces (at other kinds, scenario E's rule, such a token simply
    grants nothing). A scope the kind cuts beside others that it serves (a mount's
    source in another namespace) is simply not granted, as the token spec says."""
    verdicts = [(scope, kind_ceiling(registry, principal, scope)) for scope in requested]
    if principal.user is None and registry.kind in SIGNED_IN_KINDS:
        return next((v.reason for _, v in verdicts if v.reason and not v.actions), None)
    for scope, verdict in verdicts:
        wanted = ALL_ACTIONS if "*" in scope.actions else scope.actions
        if scope.type == "repository" and verdict.actions and wanted - verdict.actions:
            return verdict.reason
    served = [v for scope, v in verdicts if scope.type == "repository"]
    if registry.kind in OWN_NAMESPACE_KINDS and served and not any(v.actions for v in served):
        return served[0].reason
    return None


def grant(
    principal: Principal,
    requested: Iterable[Scope],
    resolve: Callable[[str], Repository | None],
    resolve_namespace: Callable[[str], Namespace | None] = lambda name: None,
    registry: RegistryRules | None = None,
) -> tuple[Scope, ...]:
    """Cut ``requested`` scopes down to what is allowed in a token for ``registry``
    (:func:`registry_actions`); never raise for asking too much.

    ``resolve(full_name)`` returns the repository or None; for None,
    ``resolve_namespace(full_name)`` returns the namespace the name would be in (or None).
    """
    granted: list[Scope] = []
    for scope in requested:
        repository = resolve(scope.name) if scope.type == "repository" else None
        namespace = (
            resolve_namespace(scope.name)
            if scope.type == "repository" and repository is None
            else None
        )
        actions = registry_actions(registry, principal, scope, repository, namespace).actions
        if actions:
            granted.append(Scope(scope.type, scope.name, actions))
    return tuple(granted)
