"""Which registries hold a repository (``repository_registries``): recorded from push events,
dropped by repository-delete events, and named by X-Docker-Endpoints, the handshake's token
and ``GET /api/v1/repositories/NAME/-/registries`` (services.registries.holders)."""

from __future__ import annotations

import pytest
from wharf_index.domain.model import SYSTEM
from wharf_index.services import events, registries
from wharf_protocol.events import Target, new_event

from tests.registry_double import manifest_bytes, push_event
from tests.service.conftest import REGISTRY, basic

WANT_TOKEN = {"X-Docker-Token": "true"}


@pytest.fixture
def alices(uow, registry):
    """Next to the unrestricted "registry.test": "alices", which declared alice."""
    return registries.add_registry(
        uow, "alices", "https://hub.alice.test", "private", ["alice"], actor=SYSTEM
    )[0]


def _named(client, name, claims_of):
    """(X-Docker-Endpoints, the token's audience, the API's registries) for ``name``."""
    images = client.get(f"/v1/repositories/{name}/images", headers={**basic("alice"), **WANT_TOKEN})
    assert images.status_code == 200, images.get_json()
    listed = client.get(f"/api/v1/repositories/{name}/-/registries", headers=basic("alice"))
    return (
        images.headers["X-Docker-Endpoints"],
        claims_of(images.headers["X-Docker-Token"]).audience,
        [r["name"] for r in listed.get_json()["items"]],
    )


def test_the_index_names_the_registry_holding_the_repository(
    client, uow, registry, alices, make_repo, claims_of
):
    make_repo("alice/z")
    # Nothing pushed yet: the registry that would take the first push (declared namespace).
    assert _named(client, "alice/z", claims_of) == ("hub.alice.test", "alices", ["alices"])
    events.ingest(uow, registry[0], [push_event("alice/z", "1", manifest_bytes("z"))])
    held = ("registry.test:5000", REGISTRY, [REGISTRY])
    assert _named(client, "alice/z", claims_of) == held
    again = client.put("/v1/repositories/alice/z/", headers=basic("alice"))  # push handshake
    assert again.headers["X-Docker-Endpoints"] == "registry.test:5000"
    assert claims_of(again.headers["X-Docker-Token"]).audience == REGISTRY
    # Pushed to the second one too: both hold it, by name.
    events.ingest(uow, alices, [push_event("alice/z", "2", manifest_bytes("z2"))])
    endpoints, _, listed = _named(client, "alice/z", claims_of)
    assert endpoints == "hub.alice.test,registry.test:5000" and listed == ["alices", REGISTRY]


def test_a_repository_delete_event_drops_that_registrys_holding(
    client, uow, registry, alices, make_repo, claims_of, sql
):
    make_repo("alice/z")
    events.ingest(uow, registry[0], [push_event("alice/z", "1", manifest_bytes("z"))])
    events.ingest(uow, alices, [push_event("alice/z", "2", manifest_bytes("z2"))])
    events.ingest(uow, alices, [new_event("delete", Target("", "", None, "alice/z"))])
    assert _named(client, "alice/z", claims_of) == ("registry.test:5000", REGISTRY, [REGISTRY])
    tags = client.get("/api/v1/repositories/alice/z/-/tags", headers=basic("alice")).get_json()
    assert [t["name"] for t in tags["items"]] == ["1"]  # what came from alices went with it
    events.ingest(uow, registry[0], [new_event("delete", Target("", "", None, "alice/z"))])
    # Held nowhere now: the repository stays (people's stars and comments), named by the
    # namespace rule again.
    assert _named(client, "alice/z", claims_of) == ("hub.alice.test", "alices", ["alices"])
    assert sql("SELECT count(*) FROM manifests") == [(0,)]


def test_without_a_registry_serving_the_namespace_none_is_named(client, uow, make_repo, users):
    registries.add_registry(uow, "bobs", "http://bobs.test", "private", ["bob"], actor=SYSTEM)
    make_repo("alice/z", "public")
    images = client.get("/v1/repositories/alice/z/images", headers=WANT_TOKEN)
    assert images.status_code == 200
    assert "X-Docker-Endpoints" not in images.headers and "X-Docker-Token" not in images.headers
    listed = client.get("/api/v1/repositories/alice/z/-/registries").get_json()
    assert listed["items"] == []
