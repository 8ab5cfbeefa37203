"""``GET /v1/search`` at the registry's host: the Index's answer with the caller's
credentials, the registry's own catalog without an Index, podman's credential-less request;
and the message a refused push into ``library`` gets."""

from __future__ import annotations

import base64
import json

import pytest
import responses
from fake_index import CREDENTIAL, NAME, REALM, URL, FakeIndex, bearer
from wharf_registry.app import create_app
from wharf_registry.settings import Settings

PODMAN = {"Docker-Distribution-API-Version": "registry/2.0"}


def _names(response) -> list[str]:
    return [r["name"] for r in response.get_json()["results"]]


def test_without_an_index_the_catalog_is_searched(client, oci):
    for name in ("n/alpha", "n/beta", "other/alp", "app"):
        oci.push_image(name, "v1")
    r = client.get("/v1/search?q=ALP")
    assert r.status_code == 200
    body = r.get_json()
    assert _names(r) == ["n/alpha", "other/alp"]
    assert body["num_results"] == 2 and body["page"] == 1 and body["page_size"] == 25
    assert body["results"][0] == {
        "name": "n/alpha",
        "description": "",
        "star_count": 0,
        "is_official": False,
        "is_automated": False,
    }
    assert _names(client.get("/v1/search?q=alp&n=1&page=2")) == ["other/alp"]
    assert _names(client.get("/v1/search?q=library/app")) == ["library/app"]
    assert client.get("/v1/search?q=alp&n=0").status_code == 400
    assert client.get("/v1/search?q=alp&page=x").status_code == 400
    podman = client.get("/v1/search?q=alp", headers=PODMAN)
    assert podman.status_code == 401  # podman then lists /v2/_catalog


def test_htpasswd_search_needs_credentials(tmp_path, driver, sink):
    import subprocess

    path = tmp_path / "htpasswd"
    subprocess.run(
        ["htpasswd", "-B", "-b", "-c", str(path), "alice", "s3cret"],
        check=True,
        capture_output=True,
    )
    settings = Settings(storage_driver="filesystem", auth="htpasswd", htpasswd_path=str(path))
    client = create_app(settings, driver=driver, sink=sink).test_client()
    r = client.get("/v1/search?q=x")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic ")
    auth = {"Authorization": "Basic " + base64.b64encode(b"alice:s3cret").decode()}
    assert client.get("/v1/search?q=x", headers=auth).get_json()["results"] == []


@pytest.fixture
def token_client(driver, sink):
    settings = Settings(
        storage_driver="filesystem",
        auth="token",
        index_url=URL,
        index_name=NAME,
        index_credential=CREDENTIAL,
        token_realm=REALM,
        notifications_enabled=False,
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        index = FakeIndex(rsps)
        seen: list[dict] = []

        def search(request):
            seen.append(dict(request.headers))
            if request.headers.get("Authorization") == "Basic bad":
                body = {"error": {"code": "UNAUTHORIZED", "message": "wrong credentials"}}
                return 401, {}, json.dumps(body)
            results = [{"name": "alice/app", "description": "d", "star_count": 2}]
            return 200, {}, json.dumps({"query": "app", "num_results": 1, "results": results})

        rsps.add_callback(responses.GET, f"{URL}/v1/search", search)
        app = create_app(settings, driver=driver, sink=sink, index=index.client())
        yield app.test_client(), index, seen


def test_with_an_index_the_index_answers_with_the_callers_credentials(token_client):
    client, index, seen = token_client
    token = index.token("registry:catalog:search")
    r = client.get("/v1/search?q=app&n=5", headers=bearer(token))
    assert r.status_code == 200 and _names(r) == ["alice/app"]
    assert seen[-1]["Authorization"] == f"Bearer {token}"
    assert seen[-1]["X-Forwarded-For"]
    anonymous = client.get("/v1/search?q=app")
    assert anonymous.status_code == 200 and "Authorization" not in seen[-1]
    refused = client.get("/v1/search?q=app", headers={"Authorization": "Basic bad"})
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer ")
    assert "wrong credentials" in refused.get_json()["errors"][0]["message"]
    calls = len(seen)
    assert client.get("/v1/search?q=app", headers=PODMAN).status_code == 401
    assert len(seen) == calls  # podman's request is answered here, not asked


def test_with_the_index_down_search_is_a_503(driver, sink):
    settings = Settings(
        storage_driver="filesystem",
        auth="token",
        index_url="http://127.0.0.1:9",
        index_name=NAME,
        index_credential=CREDENTIAL,
        token_realm=REALM,
        token_verify="remote",
        notifications_enabled=False,
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1:9")
        index = FakeIndex(rsps)
        client = create_app(settings, driver=driver, sink=sink, index=index.client()).test_client()
        assert client.get("/v1/search?q=app").status_code == 503


def test_a_refused_push_into_library_says_who_may_push(token_client):
    client, index, _ = token_client
    token = index.token("repository:library/app:pull")
    r = client.post("/v2/app/blobs/uploads/", headers=bearer(token))
    assert r.status_code == 401
    message = r.get_json()["errors"][0]["message"]
    assert message.startswith("library/app: only members of the library organisation may push")
    assert 'scope="repository:library/app:pull,push"' in r.headers["WWW-Authenticate"]
    other = client.post("/v2/alice/app/blobs/uploads/", headers=bearer(token))
    assert "library organisation" not in other.get_json()["errors"][0]["message"]
