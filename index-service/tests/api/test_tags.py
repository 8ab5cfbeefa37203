"""Tags with digests, sizes and layers, read from the image record."""

from __future__ import annotations

from tests.api.conftest import API, basic

LAYERS = [("sha256:" + "1" * 64, 100), ("sha256:" + "2" * 64, 250)]


def test_list_tags_with_digests_and_sizes(client, users, make_repo, add_tag):
    make_repo("alice/app", visibility="public")
    digest = add_tag("alice/app", "v1", digest_char="a", layers=LAYERS, size=700)
    add_tag("alice/app", "latest", digest_char="a", layers=LAYERS, size=700)
    add_tag("alice/app", "v2", digest_char="b")
    body = client.get(f"{API}/repositories/alice/app/-/tags?limit=2").json
    assert [t["name"] for t in body["items"]] == ["latest", "v1"]
    first = body["items"][0]
    assert first["digest"] == digest and first["size"] == 700 and first["layers_size"] == 350
    assert first["media_type"] == "application/vnd.oci.image.manifest.v1+json"
    assert first["pushed_at"].endswith("+00:00") and first["pushed_by"] == "alice"
    rest = client.get(f"{API}/repositories/alice/app/-/tags?cursor={body['next']}").json
    assert [t["name"] for t in rest["items"]] == ["v2"] and rest["next"] is None


def test_tag_detail_has_layers(client, users, make_repo, add_tag):
    make_repo("alice/app")
    add_tag("alice/app", "v1", layers=LAYERS)
    body = client.get(f"{API}/repositories/alice/app/-/tags/v1", headers=basic("alice")).json
    assert [(x["digest"], x["size"]) for x in body["layers"]] == LAYERS
    assert body["config_digest"] == "sha256:" + "c" * 64
    missing = client.get(f"{API}/repositories/alice/app/-/tags/nope", headers=basic("alice"))
    assert missing.status_code == 404 and missing.json["error"]["code"] == "NOT_FOUND"


def test_tags_of_a_private_repository_are_hidden(client, users, make_repo, add_tag):
    make_repo("alice/app")
    add_tag("alice/app", "v1")
    response = client.get(f"{API}/repositories/alice/app/-/tags", headers=basic("bob"))
    assert response.status_code == 404
    assert response.json["error"]["code"] == "REPOSITORY_UNKNOWN"
