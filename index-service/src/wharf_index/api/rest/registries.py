"""The registry directory: every signed-in user may read it (and anyone may ask which
registries hold a repository they can see); administrators add, update (whether it filters
its catalog), rotate and remove.

A registry's credential (for its calls to the Index) is in the add/rotate answer only.
"""

from __future__ import annotations

from ...context import uow
from ...services import registries, repositories
from . import bp
from .auth import principal, require_admin, require_user
from .inputs import load
from .openapi import doc
from .pagination import paged_list
from .schemas import RegistryCreatedSchema, RegistryCreateIn, RegistrySchema, RegistryUpdateIn


def _registry_list(kind: str, found) -> dict:
    return paged_list(kind, (str,), found, lambda r: (r.name,), RegistrySchema(many=True).dump)


@bp.get("/registries")
@doc(auth="user", response=RegistrySchema, paginated=True)
def list_registries():
    """List the registries the Index knows."""
    require_user()
    return _registry_list("registries", registries.list_registries(uow()))


@bp.get("/registries/<name>")
@doc(auth="user", response=RegistrySchema)
def get_registry(name: str):
    """Return one registry."""
    require_user()
    return RegistrySchema().dump(registries.get_registry(uow(), name))


@bp.post("/registries")
@doc(
    auth="admin",
    body=RegistryCreateIn,
    response=RegistryCreatedSchema,
    status=201,
    errors=(409,),
    links={"name": "registry/name"},
)
def add_registry():
    """Add a registry; the answer holds its credential, shown only once."""
    caller = require_admin()
    data = load(RegistryCreateIn)
    registry, credential = registries.add_registry(
        uow(),
        data["name"],
        data["url"],
        data["kind"],
        data["namespaces"],
        catalog=data["catalog"],
        actor=caller,
    )
    return RegistryCreatedSchema().dump({"registry": registry, "credential": credential}), 201


@bp.patch("/registries/<name>")
@doc(auth="admin", body=RegistryUpdateIn, response=RegistrySchema)
def update_registry(name: str):
    """Change a registry's kind and/or say whether it filters its catalog (``auto``,
    ``filtered``, ``unfiltered``)."""
    caller = require_admin()
    data = load(RegistryUpdateIn)
    if "kind" in data:
        registry = registries.set_kind(uow(), name, data["kind"], actor=caller)
    if "catalog" in data:
        registry = registries.set_catalog(uow(), name, data["catalog"], actor=caller)
    return RegistrySchema().dump(registry)


@bp.post("/registries/<name>/credential")
@doc(auth="admin", response=RegistryCreatedSchema)
def rotate_registry_credential(name: str):
    """Replace a registry's credential; the new one is shown only once."""
    credential = registries.rotate_credential(uow(), name, actor=require_admin())
    registry = registries.get_registry(uow(), name)
    return RegistryCreatedSchema().dump({"registry": registry, "credential": credential})


@bp.delete("/registries/<name>")
@doc(auth="admin", status=204)
def remove_registry(name: str):
    """Forget a registry; its credential stops working at once."""
    registries.remove_registry(uow(), name, actor=require_admin())
    return "", 204


@bp.get("/repositories/<api_repo:name>/-/registries")
@doc(auth="optional", response=RegistrySchema, paginated=True)
def list_repository_registries(name: str):
    """List the registries holding a repository (where to pull it from); before anything
    was pushed, those that would take its first push."""
    repository = repositories.get_repository(uow(), principal(), name)
    return _registry_list("repository-registries", registries.holders(uow(), repository.full_name))
