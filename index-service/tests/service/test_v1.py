"""The original /v1/ handshake and ``docker search``."""

from __future__ import annotations

import pytest
from wharf_index.domain.model import SYSTEM
from wharf_index.services import access_tokens, registries
from wharf_protocol import mediatypes
from wharf_protocol.events import Descriptor, Target, new_event

from tests.service.conftest import REGISTRY, access_of, basic

LAYERS = ["sha256:" + c * 64 for c in "de"]
WANT_TOKEN = {"X-Docker-Token": "true"}


@pytest.fixture
def repos(make_repo, index_client):
    make_repo("alice/public", "public", "a public image")
    make_repo("alice/private", "private", "a secret image")
    refs = (
        Descriptor(mediatypes.OCI_CONFIG, "sha256:" + "c" * 64, 10),
        *(Descriptor(mediatypes.OCI_LAYER_GZIP, d, 100) for d in LAYERS),
    )
    index_client.post_events(
        [
            new_event(
                "push",
                Target(
                    mediatypes.OCI_MANIFEST,
                    "sha256:" + "a" * 64,
                    500,
                    name,
                    tag="latest",
                    references=refs,
                ),
            )
            for name in ("alice/public", "alice/private")
        ]
    )


def test_ping(client):
    response = client.get("/v1/_ping")
    assert response.status_code == 200 and response.get_json() is True
    assert response.headers["X-Docker-Registry-Version"]


def test_images_public_with_token(client, claims_of, repos):
    response = client.get("/v1/repositories/alice/public/images", headers=WANT_TOKEN)
    assert response.status_code == 200
    assert response.get_json() == [{"id": d.partition(":")[2], "checksum": d} for d in LAYERS]
    assert response.headers["X-Docker-Endpoints"] == "registry.test:5000"
    claims = claims_of(response.headers["X-Docker-Token"])
    assert claims.audience == REGISTRY and claims.subject == ""
    assert access_of(claims) == {"repository:alice/public": {"pull"}}
    plain = client.get("/v1/repositories/alice/public/images")
    assert "X-Docker-Token" not in plain.headers


def test_images_private_is_404_for_outsiders(client, claims_of, users, repos):
    for headers in ({}, basic("bob")):
        hidden = client.get("/v1/repositories/alice/private/images", headers=headers)
        missing = client.get("/v1/repositories/alice/nothing/images", headers=headers)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.get_json()["error"]["code"] == missing.get_json()["error"]["code"]
    owner = client.get(
        "/v1/repositories/alice/private/images", headers={**basic("alice"), **WANT_TOKEN}
    )
    assert owner.status_code == 200 and len(owner.get_json()) == 2
    assert claims_of(owner.headers["X-Docker-Token"]).subject == "alice"


def test_endpoints_name_the_holder_then_the_declared_namespace(client, uow, repos, make_repo):
    registries.add_registry(
        uow, "alice-hub.test", "https://hub.alice.test", "sponsor", ["alice"], actor=SYSTEM
    )
    response = client.get("/v1/repositories/alice/public/images", headers=WANT_TOKEN)
    assert response.headers["X-Docker-Endpoints"] == "registry.test:5000"  # pushed there
    make_repo("alice/fresh", "public")  # nothing pushed: the registry that declared alice
    response = client.get("/v1/repositories/alice/fresh/images", headers=WANT_TOKEN)
    assert response.headers["X-Docker-Endpoints"] == "hub.alice.test"


def test_put_allocates_with_push_token(client, claims_of, uow, users, registry):
    response = client.put("/v1/repositories/alice/new/", headers=basic("alice"))
    assert response.status_code == 200
    claims = claims_of(response.headers["X-Docker-Token"])
    assert access_of(claims) == {"repository:alice/new": {"pull", "push"}}
    assert response.headers["X-Docker-Endpoints"] == "registry.test:5000"
    with uow:
        assert uow.repositories.find("alice/new") is not None


def test_put_refused(client, users, registry, repos):
    assert client.put("/v1/repositories/alice/new/").status_code == 401
    assert (
        client.put(
            "/v1/repositories/alice/new/", headers=basic("alice", "bad password!")
        ).status_code
        == 401
    )
    for name in ("alice/new", "alice/public", "alice/private"):
        assert client.put(f"/v1/repositories/{name}/", headers=basic("bob")).status_code == 403


def test_delete_gives_delete_token(client, claims_of, uow, users, repos):
    assert client.delete("/v1/repositories/alice/public/", headers=basic("bob")).status_code == 403
    assert client.delete("/v1/repositories/alice/private/", headers=basic("bob")).status_code == 404
    response = client.delete("/v1/repositories/alice/public/", headers=basic("alice"))
    assert response.status_code == 202
    claims = claims_of(response.headers["X-Docker-Token"])
    assert access_of(claims) == {"repository:alice/public": {"delete"}}
    with uow:
        assert uow.repositories.find("alice/public").status == "deleting"


def test_delete_with_an_access_token_needs_admin(client, claims_of, uow, users, principal, repos):
    def token(*actions):
        scopes = [{"repository": "alice/*", "actions": list(actions)}]
        return access_tokens.create_access_token(uow, principal("alice"), "t", scopes)[1]

    for actions in (("delete",), ("*",)):  # registry deletion is not repository deletion
        response = client.delete(
            "/v1/repositories/alice/public/", headers=basic("alice", token(*actions))
        )
        assert response.status_code == 403, actions
        assert "X-Docker-Token" not in response.headers
    with uow:
        assert uow.repositories.find("alice/public").status == "active"
    response = client.delete(
        "/v1/repositories/alice/public/", headers=basic("alice", token("admin", "delete"))
    )
    assert response.status_code == 202
    assert access_of(claims_of(response.headers["X-Docker-Token"])) == {
        "repository:alice/public": {"delete"}
    }


def _search(client, headers=None, **query):
    return client.get("/v1/search", query_string=query, headers=headers or {})


def test_search_format_and_privacy(client, users, repos, make_repo):
    body = _search(client, q="image").get_json()
    assert body == {
        "query": "image",
        "num_results": 1,
        "num_pages": 1,
        "page": 1,
        "page_size": 25,
        "results": [
            {
                "name": "alice/public",
                "description": "a public image",
                "star_count": 0,
                "is_official": False,
                "is_automated": False,
            }
        ],
    }
    assert _search(client, basic("bob"), q="secret").get_json()["results"] == []
    owner = _search(client, basic("alice"), q="image").get_json()
    assert [r["name"] for r in owner["results"]] == ["alice/private", "alice/public"]


def test_search_pages(client, users, make_repo):
    for i in range(5):
        make_repo(f"bob/app{i}", "public")
    body = _search(client, q="bob/app", n="2", page="3").get_json()
    assert (body["num_results"], body["num_pages"], body["page"]) == (5, 3, 3)
    assert [r["name"] for r in body["results"]] == ["bob/app4"]
    assert _search(client, q="bob", n="2", page="9").get_json()["results"] == []


@pytest.mark.parametrize(
    "query",
    [
        {"q": "' OR 1=1 --"},
        {"q": "%"},
        {"q": "_"},
        {"q": "\\"},
        {"q": "x'); DROP TABLE users;--"},
        {"q": "image", "n": "1; DROP TABLE users"},
        {"q": "image", "page": "1 OR 1=1"},
        {"n": "-1"},
        {"n": "0"},
        {"n": "101"},
        {"page": "0"},
        {"q": "a\x00b"},
    ],
)
def test_search_injection(client, uow, users, repos, query):
    response = _search(client, **query)
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.get_json()["results"] == []
    with uow:
        assert uow.users.find("alice") is not None
    assert _search(client, q="image").get_json()["num_results"] == 1
