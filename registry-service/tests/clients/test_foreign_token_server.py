"""Wharf's registry with another standard token server (scenario E with a foreign Index).

The token server is wharf_testing.token_server (PyJWT, RS256, not Wharf's token code), a
real gunicorn process; the registry runs under gunicorn with REGISTRY_AUTH=token,
REGISTRY_AUTH_TOKEN_VERIFY=local and the server's public keys, from its PEM certificate
bundle (tokens naming the key by a libtrust kid) or its JWK Set file (tokens carrying the
certificate in x5c, no kid). skopeo logs in, pushes and pulls; a user the server grants only
pull cannot push; tokens for another audience, from another issuer or signed by another key
are refused.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time

import pytest
import requests
import skopeo
from oci_layout import layout_root, multi_layer_image, write_layout
from wharf_testing import free_port
from wharf_testing.token_server import write_key

SERVICE = "foreign-registry"
ISSUER = "foreign-issuer"
USERS = {
    "alice": {"password": "alice password", "actions": ["pull", "push"]},
    "bob": {"password": "bob password", "actions": ["pull"]},
}
ALICE, BOB = "alice:alice password", "bob:bob password"


@pytest.fixture
def token_server(service_factory, tmp_path):
    """Factory ``(kid="libtrust"|"x5c", issuer=ISSUER, keydir=None, port=None)`` ->
    (service, keydir)."""

    def start(kid: str = "libtrust", issuer: str = ISSUER, keydir=None, port=None):
        keydir = keydir or write_key(tmp_path / f"keys-{kid}-{issuer}")
        env = {
            "TOKEN_SERVER_KEYDIR": str(keydir),
            "TOKEN_SERVER_ISSUER": issuer,
            "TOKEN_SERVER_KID": kid,
            "TOKEN_SERVER_USERS": json.dumps(USERS),
        }
        app = "wharf_testing.token_server:create_app()"
        return service_factory(app, env, f"token-server-{kid}-{issuer}", port=port), keydir

    return start


def start_registry(service_factory, tmp_path, realm: str, name: str, **keys: str):
    """Wharf's registry under gunicorn, local token mode with ``keys``; return its host."""
    root = tmp_path / f"storage-{name}"
    root.mkdir()
    env = {
        "REGISTRY_STORAGE": "filesystem",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root),
        "REGISTRY_AUTH": "token",
        "REGISTRY_AUTH_TOKEN_VERIFY": "local",
        "REGISTRY_AUTH_TOKEN_REALM": realm,
        "REGISTRY_AUTH_TOKEN_SERVICE": SERVICE,
        "REGISTRY_AUTH_TOKEN_ISSUER": ISSUER,
        "REGISTRY_LOG_LEVEL": "WARNING",
        **keys,
    }
    registry = service_factory("wharf_registry.wsgi:app", env, f"registry-{name}")
    return registry.url.split("://", 1)[1]


@pytest.fixture(params=["rootcertbundle", "jwks"])
def setup(request, token_server, service_factory, tmp_path):
    """The token server and a registry trusting its key: (registry host, server, keydir)."""
    if request.param == "rootcertbundle":
        server, keydir = token_server(kid="libtrust")
        keys = {"REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE": str(keydir / "certs.pem")}
    else:
        server, keydir = token_server(kid="x5c")
        keys = {"REGISTRY_AUTH_TOKEN_JWKS": str(keydir / "jwks.json")}
    host = start_registry(service_factory, tmp_path, f"{server.url}/token", request.param, **keys)
    return host, server, keydir


def token(server, creds: str, scope: str, service: str = SERVICE) -> str:
    user, _, password = creds.partition(":")
    r = requests.get(
        f"{server.url}/token",
        params={"service": service, "scope": scope},
        auth=(user, password),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token"] == body["access_token"] and body["expires_in"] == 300
    return body["token"]


def test_login_push_pull_and_a_pull_only_user(setup, tmp_path):
    host, _, _ = setup
    authfile = tmp_path / "auth.json"
    login = ["login", "--tls-verify=false", "--authfile", str(authfile)]
    refused = skopeo.run(*login, "-u", "alice", "-p", "wrong", host, check=False)
    assert refused.returncode != 0
    skopeo.run(*login, "-u", "alice", "-p", "alice password", host)
    image = multi_layer_image(seed=31, count=3)
    source = write_layout(tmp_path / "src", image, "v1")
    skopeo.run(
        "copy",
        "--dest-tls-verify=false",
        "--preserve-digests",
        "--authfile",
        str(authfile),
        f"oci:{source}:v1",
        f"docker://{host}/team/app:v1",
    )
    skopeo.pull(f"{host}/team/app:v1", tmp_path / "back", "v1", creds=BOB)
    assert layout_root(tmp_path / "back", "v1")["digest"] == image.manifest.digest
    assert skopeo.inspect_raw(f"{host}/team/app:v1", creds=ALICE) == image.manifest.data

    other = write_layout(tmp_path / "other", multi_layer_image(seed=32, count=2), "v2")
    denied = skopeo.push(other, "v2", f"{host}/team/app:v2", creds=BOB, check=False)
    assert denied.returncode != 0
    assert "insufficient scope: repository:team/app:pull,push" in denied.stderr
    assert skopeo.list_tags(f"{host}/team/app", creds=BOB) == ["v1"]
    anonymous = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"http://{host}/v2/"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert anonymous.stdout == "401"


def refusal(host: str, bearer: str) -> str:
    r = requests.get(
        f"http://{host}/v2/team/app/tags/list",
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=10,
    )
    assert r.status_code == 401, r.text
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    return r.json()["errors"][0]["message"]


def test_tokens_for_another_audience_issuer_or_key_are_refused(setup, token_server):
    host, server, keydir = setup
    scope = "repository:team/app:pull"
    good = token(server, ALICE, scope)
    r = requests.get(
        f"http://{host}/v2/team/app/tags/list",
        headers={"Authorization": f"Bearer {good}"},
        timeout=10,
    )
    assert r.status_code == 404  # accepted: the repository does not exist yet
    assert refusal(host, token(server, ALICE, scope, service="elsewhere")) == (
        "token rejected: wrong_audience"
    )
    impostor, _ = token_server(kid="x5c", issuer="impostor", keydir=keydir)  # the same key
    assert refusal(host, token(impostor, ALICE, scope)) == "token rejected: wrong_issuer"
    stranger, _ = token_server(kid="libtrust", issuer=ISSUER)  # its own key
    assert refusal(host, token(stranger, ALICE, scope)) == "token rejected: unknown_key"


def test_a_jwks_url_down_at_start_does_not_stop_the_registry(
    token_server, service_factory, tmp_path
):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    jwks = {"REGISTRY_AUTH_TOKEN_JWKS": f"{url}/jwks.json"}
    host = start_registry(service_factory, tmp_path, f"{url}/token", "jwks-url", **jwks)
    tags = f"http://{host}/v2/team/app/tags/list"
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"not-fetched-yet"}').decode()
    early = f"{header.rstrip('=')}.e30.c2ln"
    r = requests.get(tags, headers={"Authorization": f"Bearer {early}"}, timeout=10)
    assert r.status_code == 503  # no key can be known yet: Index unavailable, not forged
    assert r.json()["errors"][0]["code"] == "INDEX_UNAVAILABLE"
    server, _ = token_server(kid="libtrust", port=port)  # the token server starts later
    good = {"Authorization": f"Bearer {token(server, ALICE, 'repository:team/app:pull')}"}
    time.sleep(10)  # the registry fetches at most once per 10 s
    assert requests.get(tags, headers=good, timeout=10).status_code == 404  # accepted
