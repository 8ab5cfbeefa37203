"""htpasswd auth (scenario D) and read-only mode."""

import base64
import subprocess

import pytest
from wharf_registry.app import create_app
from wharf_registry.settings import ConfigError, Settings


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def htpasswd_file(tmp_path):
    path = tmp_path / "htpasswd"
    subprocess.run(
        ["htpasswd", "-B", "-b", "-c", str(path), "alice", "s3cret"],
        check=True,
        capture_output=True,
    )
    return path


@pytest.fixture
def settings(htpasswd_file):
    return Settings(
        storage_driver="filesystem",
        auth="htpasswd",
        htpasswd_path=str(htpasswd_file),
        htpasswd_realm="Wharf Test",
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("alice", "wrong"),
        basic("bob", "s3cret"),
        {"Authorization": "Basic !!!"},
        {"Authorization": "Bearer abc"},
    ],
)
def test_unauthenticated_requests_get_a_basic_challenge(client, oci, headers):
    for path in ("/v2/", "/v2/team/app/tags/list", "/v2/_catalog"):
        r = client.get(path, headers=headers)
        assert r.status_code == 401 and oci.codes(r) == ["UNAUTHORIZED"]
        assert r.headers["WWW-Authenticate"] == 'Basic realm="Wharf Test"'


def test_valid_credentials_push_and_pull(client, sink):
    auth = basic("alice", "s3cret")
    assert client.get("/v2/", headers=auth).status_code == 200
    r = client.post(
        "/v2/team/app/blobs/uploads/?digest=sha256:"
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        data=b"hello",
        headers=auth,
    )
    assert r.status_code == 201
    assert (
        client.post("/v2/team/app/blobs/uploads/", headers=basic("alice", "no")).status_code == 401
    )
    assert sink.events[-1].actor.name == "alice"
    # a second request is served from the verification cache, with the same outcome
    assert client.get("/v2/_catalog", headers=auth).get_json() == {"repositories": ["team/app"]}


def test_missing_htpasswd_file_stops_start_up(tmp_path):
    settings = Settings(
        storage_driver="inmemory", auth="htpasswd", htpasswd_path=str(tmp_path / "nope")
    )
    with pytest.raises(ConfigError, match="REGISTRY_AUTH_HTPASSWD_PATH"):
        create_app(settings)


@pytest.mark.parametrize(
    "line",
    ["alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "alice:$apr1$abc$def", "alice:plain", "nocolon"],
)
def test_non_bcrypt_entries_are_refused(tmp_path, line):
    path = tmp_path / "htpasswd"
    path.write_text(line + "\n")
    settings = Settings(storage_driver="inmemory", auth="htpasswd", htpasswd_path=str(path))
    with pytest.raises(ConfigError, match="line 1: only bcrypt"):
        create_app(settings)


def test_read_only_refuses_writes(fs_driver, make_client):
    client = make_client(Settings(storage_driver="filesystem", read_only=True), driver=fs_driver)
    r = client.post("/v2/team/app/blobs/uploads/")
    assert r.status_code == 405
    assert [e["code"] for e in r.get_json()["errors"]] == ["UNSUPPORTED"]
    assert client.delete("/v2/team/app/manifests/v1").status_code == 405
    assert client.get("/v2/team/app/tags/list").status_code == 404


def test_referrers_in_a_repository_that_does_not_exist_are_an_empty_index(client):
    r = client.get("/v2/team/none/referrers/sha256:" + "c" * 64, headers=basic("alice", "s3cret"))
    assert r.status_code == 200 and r.get_json()["manifests"] == []
