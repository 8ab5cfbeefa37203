"""Namespace routes (services/routes.py): where the Index expects a namespace's pushes.

``GET /routes`` lists them by namespace and ``GET /namespaces/<namespace>/route`` reads one
(``registries`` empty: no route), for every signed-in user, as the registry directory is;
administrators set one (``PUT {"registries": [...]}``, in order; ``[]`` removes it) or
remove it (``DELETE``).
"""

from __future__ import annotations

from ...context import uow
from ...domain.model import Route
from ...services import routes
from . import bp
from .auth import require_admin, require_user
from .inputs import load
from .openapi import doc
from .pagination import paged_list
from .schemas import RouteIn, RouteSchema


def _dump(route: Route) -> dict:
    return RouteSchema().dump(route)


@bp.get("/routes")
@doc(auth="user", response=RouteSchema, paginated=True)
def list_routes():
    """List the namespace routes by namespace."""
    require_user()
    found = routes.list_routes(uow())
    return paged_list(
        "routes", (str,), found, lambda r: (r.namespace,), RouteSchema(many=True).dump
    )


@bp.get("/namespaces/<namespace>/route")
@doc(auth="user", response=RouteSchema)
def get_route(namespace: str):
    """A namespace's route: the registries its pushes go to, first first (none: [])."""
    require_user()
    return _dump(routes.get_route(uow(), namespace))


@bp.put("/namespaces/<namespace>/route")
@doc(auth="admin", body=RouteIn, response=RouteSchema, errors=(409,))
def put_route(namespace: str):
    """Route a namespace's pushes to registries serving it, in order ([]: no route)."""
    caller = require_admin()
    data = load(RouteIn)
    return _dump(routes.set_route(uow(), namespace, data["registries"], actor=caller))


@bp.delete("/namespaces/<namespace>/route")
@doc(auth="admin", status=204)
def delete_route(namespace: str):
    """Remove a namespace's route: the namespace rule of the registry directory applies."""
    routes.set_route(uow(), namespace, [], actor=require_admin())
    return "", 204
