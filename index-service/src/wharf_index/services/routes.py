"""Namespace routes: where the Index expects the pushes of a namespace.

A registry's declared namespaces (``registry add --namespace``) say what it may serve: token
issuance grants nothing outside them and its events outside them are refused. A route
(``wharf-index route set NS REGISTRY...``, ``PUT /api/v1/routes/NS``) says, among the
registries serving a namespace, which take its pushes, first first. So a route may name only
registries that serve the namespace, and no mirror (a registry with an upstream takes no
pushes). Where a route applies (:func:`expected_registries`):

- the push handshake (``PUT /v1/repositories/NAME/``) names the route's registries, in
  order, and its token is for the first of them, whether or not another registry already
  holds the repository;
- a repository nothing was pushed to yet is placed at the route's registries (its holders
  before the first push: services.registries.holders), so pulls look there too;
- token issuance (services/tokens.py) reads the routes of the requested namespaces with the
  audience (adapters/token_checks.py) and the policy decides with them
  (domain.policy.RegistryRules.routes, ``kind_ceiling``): a token for a registry the route
  does not name grants a signed-in caller no push in that namespace, and a request asking
  push there is refused with the reason "NAME: pushes of NS go to A, B, not C" (the Bearer
  challenge's ``error_description``). Pulls, and deletes of what such a registry already
  holds, stay allowed at every registry serving the namespace.

Without a route, the old rule: the registries that declared the namespace, else those
registered without namespaces; a push to any registry serving the namespace is accepted
and recorded as a holding like any push.
"""

from __future__ import annotations

from ..domain import errors, policy
from ..domain.model import SYSTEM, Principal, Registry, Route
from ..domain.names import MAX_NAMESPACE_LENGTH, NAMESPACE_RE
from . import audit
from .unit_of_work import UnitOfWork

#: At most this many registries in one route.
MAX_ROUTE = 16


def _check_namespace(namespace: object) -> str:
    if (
        not isinstance(namespace, str)
        or len(namespace) > MAX_NAMESPACE_LENGTH
        or not NAMESPACE_RE.fullmatch(namespace)
    ):
        raise errors.NameInvalid(namespace, "invalid namespace")
    return namespace


def expected_registries(uow: UnitOfWork, namespace: str) -> list[Registry]:
    """Where the Index expects a push of ``namespace`` (module doc), first first: its route,
    else the registries that declared it (by name), else those without namespaces (by name);
    never a mirror (a registry with an upstream). Inside the caller's transaction."""
    for found in (
        uow.registries.routed,
        uow.registries.serving,
        lambda _: uow.registries.unrestricted(),
    ):
        takers = [r for r in found(namespace) if r.upstream is None]
        if takers:
            return takers
    return []


def push_registries(uow: UnitOfWork, namespace: str) -> list[Registry] | None:
    """The route of ``namespace`` when it has one (the push handshake names these), else
    None (the caller keeps its own rule)."""
    with uow:
        return uow.registries.routed(namespace) or None


def list_routes(uow: UnitOfWork) -> list[Route]:
    """Every route, by namespace."""
    with uow:
        return uow.routing.routes()


def get_route(uow: UnitOfWork, namespace: str) -> Route:
    """The route of ``namespace`` (no registries: none). Raises NameInvalid."""
    namespace = _check_namespace(namespace)
    with uow:
        return Route(namespace, tuple(r.name for r in uow.registries.routed(namespace)))


def set_route(uow: UnitOfWork, namespace: str, names, *, actor: Principal = SYSTEM) -> Route:
    """Route ``namespace`` to the registries ``names`` in order (empty: remove its route);
    a registry named twice counts once, where first named; audited (``route.set``). Raises
    NameInvalid, ValueInvalid (over MAX_ROUTE), StateConflict (unknown registries,
    registries not serving the namespace, mirrors), PermissionDenied."""
    if not actor.is_admin:
        raise errors.PermissionDenied()
    namespace = _check_namespace(namespace)
    names = list(dict.fromkeys(names))
    if len(names) > MAX_ROUTE:
        raise errors.ValueInvalid("registries", f"at most {MAX_ROUTE} registries")
    with uow:
        chosen = [_routable(uow, name, namespace) for name in names]
        uow.routing.set_route(namespace, [r.id for r in chosen])
        audit.record(uow, actor, "route.set", "namespace", namespace, detail={"registries": names})
    return Route(namespace, tuple(names))


def _routable(uow: UnitOfWork, name: object, namespace: str) -> Registry:
    found = uow.registries.find(name) if isinstance(name, str) else None
    if found is None:
        raise errors.StateConflict("registries", f"no registry named {name!s:.253}")
    if not policy.registry_serves(found.namespaces, namespace):
        raise errors.StateConflict("registries", f"{found.name} does not serve {namespace}")
    if found.upstream is not None:
        raise errors.StateConflict(
            "registries", f"{found.name} mirrors {found.upstream}: a mirror takes no pushes"
        )
    return found
