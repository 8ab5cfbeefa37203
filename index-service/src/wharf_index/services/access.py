"""Authorise a token request: requested scopes -> granted scopes (scenario B included).

Used by the token endpoint (/v2/token) and the original /v1/ handshake.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from wharf_protocol.scopes import Scope

from ..domain import errors, policy
from ..domain.model import Namespace, Principal
from ..domain.policy import RegistryRules
from .repositories import ensure_repository, split_name
from .unit_of_work import UnitOfWork


def authorize(
    uow: UnitOfWork,
    principal: Principal,
    requested: Iterable[Scope],
    *,
    allocate: bool = True,
    registry: RegistryRules | None = None,
) -> tuple[Scope, ...]:
    """Return ``requested`` cut down to what ``principal`` may do in a token for
    ``registry`` (None: whatever the registry, policy.registry_actions); never raises for
    asking too much.

    With ``allocate``, a ``push`` (or ``*``) request on a repository that does not exist
    creates it when the principal may create repositories in its namespace (scenario B) and
    ``registry``'s kind and namespaces allow the push; otherwise push is simply not granted.
    Other actions on a repository that still does not exist are decided by
    policy.absent_actions, without allocating it: its namespace's insiders may pull (admins
    delete) and the registry answers them "unknown".
    """
    requested = tuple(requested)
    names = [s.name for s in requested if s.type == "repository"]
    with uow:
        found = uow.repositories.find_many(names) if names else {}
        if allocate and principal.user is not None:
            for scope in requested:
                if (
                    scope.type == "repository"
                    and scope.name not in found
                    and _may_push(registry, principal, scope)
                ):
                    repository = ensure_repository(uow, principal, scope.name)
                    if repository is not None:
                        found[scope.name] = repository
        return decide(uow, principal, requested, found, registry)


def may_allocate(
    principal: Principal,
    requested: Iterable[Scope],
    found: Mapping,
    registry: RegistryRules | None = None,
) -> bool:
    """Tell whether :func:`authorize` with ``allocate`` could create a repository for
    ``requested`` when ``found`` holds the existing ones (by full name): an authenticated
    caller asks to push to one that does not exist, which ``registry``'s kind lets it push
    to. When not, :func:`decide` over ``found`` gives the same answer without a
    transaction."""
    return principal.user is not None and any(
        scope.type == "repository"
        and scope.name not in found
        and _may_push(registry, principal, scope)
        for scope in requested
    )


def _may_push(registry: RegistryRules | None, principal: Principal, scope: Scope) -> bool:
    """Whether ``scope`` asks push and ``registry``'s kind and namespaces allow it (so a
    missing repository may be allocated: scenario B)."""
    if not ("push" in scope.actions or "*" in scope.actions):
        return False
    return registry is None or "push" in policy.kind_ceiling(registry, principal, scope).actions


def decide(
    uow: UnitOfWork,
    principal: Principal,
    requested: tuple[Scope, ...],
    found: Mapping,
    registry: RegistryRules | None = None,
) -> tuple[Scope, ...]:
    """The policy's answer for ``requested`` in a token for ``registry`` given the existing
    repositories ``found`` (by full name), in an open ``uow`` (a missing name may need its
    namespace looked up)."""
    names = [s.name for s in requested if s.type == "repository" and s.name not in found]
    namespaces = _namespaces(uow, principal, names)
    return policy.grant(principal, requested, found.get, namespaces.get, registry)


def _namespaces(uow: UnitOfWork, principal: Principal, missing: list[str]) -> dict[str, Namespace]:
    """Map each valid name of ``missing`` to its namespace, for the namespaces in which the
    principal holds a namespace-wide role (nobody else gets anything on a missing name)."""
    if principal.user is None or not (principal.is_admin or principal.grants.namespaces):
        return {}
    records: dict[str, Namespace | None] = {}
    found: dict[str, Namespace] = {}
    for full_name in missing:
        try:
            namespace, _ = split_name(full_name)
        except errors.NameInvalid:
            continue
        if namespace not in records:
            records[namespace] = uow.namespaces.find(namespace)
        record = records[namespace]
        if record is not None and (principal.is_admin or record.id in principal.grants.namespaces):
            found[full_name] = record
    return found
