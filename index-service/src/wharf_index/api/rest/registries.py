"""The registry directory: every signed-in user may read it (and anyone may ask which
registries hold or mirror a repository they can see, and which one to pull it from);
administrators add, update (whether it filters its catalog, its weight, its upstream),
rotate and remove.

A registry's credential (for its calls to the Index) is in the add/rotate answer only.
"""

from __future__ import annotations

from ...context import uow
from ...services import chaining, registries, repositories
from . import bp
from .auth import principal, require_admin, require_user
from .inputs import load
from .openapi import doc
from .pagination import paged_list
from .schemas import (
    PlacementSchema,
    RegistryCreatedSchema,
    RegistryCreateIn,
    RegistrySchema,
    RegistryUpdateIn,
)


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
        weight=data["weight"],
        upstream=data["upstream"],
        actor=caller,
    )
    return RegistryCreatedSchema().dump({"registry": registry, "credential": credential}), 201


@bp.patch("/registries/<name>")
@doc(auth="admin", body=RegistryUpdateIn, response=RegistrySchema, errors=(409,))
def update_registry(name: str):
    """Change what is given: its kind, whether a registry filters its catalog (``auto``,
    ``filtered``, ``unfiltered``), its weight, its upstream (null: mirrors none)."""
    caller = require_admin()
    data = load(RegistryUpdateIn)
    return RegistrySchema().dump(registries.update_registry(uow(), name, **data, actor=caller))


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
@doc(auth="optional", response=PlacementSchema, paginated=True)
def list_repository_registries(name: str):
    """List by name the registries holding a repository (before anything was pushed, those
    that would take its first push) and those mirroring them, each with its role."""
    repository = repositories.get_repository(uow(), principal(), name)
    return paged_list(
        "repository-registries",
        (str,),
        chaining.by_name(uow(), repository.full_name),
        lambda p: (p.registry.name,),
        PlacementSchema(many=True).dump,
    )


@bp.get("/repositories/<api_repo:name>/-/registry")
@doc(auth="optional", response=PlacementSchema)
def choose_repository_registry(name: str):
    """The registry to pull a repository from this time: the first of the weighted rotation
    (each answer takes the repository's next turn); 404 when none serves it."""
    repository = repositories.get_repository(uow(), principal(), name)
    return PlacementSchema().dump(chaining.choose(uow(), repository))
