"""The registry directory: readable by signed-in users, written by administrators."""

from __future__ import annotations

from tests.api.conftest import API, basic

BODY = {
    "name": "registry.example",
    "url": "https://registry.example",
    "kind": "private",
    "namespaces": ["alice"],
}


def test_admin_adds_rotates_removes(client, users):
    assert client.post(f"{API}/registries", json=BODY, headers=basic("alice")).status_code == 403
    created = client.post(f"{API}/registries", json=BODY, headers=basic("carol"))
    assert created.status_code == 201 and len(created.json["credential"]) >= 40
    assert created.json["registry"]["namespaces"] == ["alice"]
    listed = client.get(f"{API}/registries", headers=basic("bob")).json
    assert [r["name"] for r in listed["items"]] == ["registry.example"]
    assert created.json["credential"] not in str(listed)
    assert client.get(f"{API}/registries").status_code == 401
    rotated = client.post(f"{API}/registries/registry.example/credential", headers=basic("carol"))
    assert rotated.json["credential"] != created.json["credential"]
    assert (
        client.delete(f"{API}/registries/registry.example", headers=basic("bob")).status_code == 403
    )
    assert (
        client.delete(f"{API}/registries/registry.example", headers=basic("carol")).status_code
        == 204
    )
    assert client.get(f"{API}/registries/registry.example", headers=basic("bob")).status_code == 404


def test_bad_registry_and_repository_registries(client, users, make_repo):
    bad = dict(BODY, url="ftp://x", kind="other")
    response = client.post(f"{API}/registries", json=bad, headers=basic("carol"))
    assert response.status_code == 400 and "kind" in response.json["error"]["detail"]
    client.post(f"{API}/registries", json=BODY, headers=basic("carol"))
    make_repo("alice/app", visibility="public")
    serving = client.get(f"{API}/repositories/alice/app/-/registries").json["items"]
    assert [r["name"] for r in serving] == ["registry.example"]


def test_admin_changes_the_kind(client, users):
    client.post(f"{API}/registries", json=BODY, headers=basic("carol"))
    path = f"{API}/registries/registry.example"
    assert client.patch(path, json={"kind": "mirror"}, headers=basic("alice")).status_code == 403
    changed = client.patch(
        path, json={"kind": "vendor", "catalog": "filtered"}, headers=basic("carol")
    )
    assert changed.status_code == 200, changed.json
    assert (changed.json["kind"], changed.json["catalog"]) == ("vendor", "filtered")
    assert client.patch(path, json={}, headers=basic("carol")).status_code == 400
    assert client.patch(path, json={"kind": "other"}, headers=basic("carol")).status_code == 400
    bare = dict(BODY, name="bare.example", namespaces=[])
    assert client.post(f"{API}/registries", json=bare, headers=basic("carol")).status_code == 201
    refused = client.patch(
        f"{API}/registries/bare.example", json={"kind": "mirror"}, headers=basic("carol")
    )
    assert refused.status_code == 400
    assert "serves only its namespaces" in refused.json["error"]["message"]
    mirror = dict(BODY, name="m.example", kind="mirror", namespaces=[])
    assert client.post(f"{API}/registries", json=mirror, headers=basic("carol")).status_code == 400
