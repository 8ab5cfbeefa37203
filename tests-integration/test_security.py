"""Security: a token for one registry refused by another; pushing into
another user's namespace denied; a private repository invisible to outsiders through every
path (registry catalog, tags, manifests, blobs, Index search, v1 search, the API).
"""

from __future__ import annotations

import os

import pytest
import requests
from oci_client import Image, OciClient
from stack import ADMIN

SECRET = "alice/secret-sauce"


@pytest.fixture(scope="module")
def stack(make_stack):
    stack = make_stack().bootstrap()
    stack.add_registry("reg1", "registry", ["alice", "bob"])
    stack.add_registry("reg2", "registry2", ["carol"])
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def secret(stack):
    """alice's private alice/secret-sauce:1 (pushed with skopeo), known to the Index."""
    image = Image.random(layers=2, label=SECRET)
    layout = image.write_layout(os.path.join(stack.workdir, "secret"), "1")
    registry = stack.registries["reg1"].address
    stack.login("alice").copy(layout, f"docker://{registry}/{SECRET}:1", check=True)
    from stack import wait_for

    wait_for(
        lambda: stack.tags_at_index(SECRET, "alice"),
        timeout=30,
        message="the Index to record the secret image",
    )
    described = stack.api(
        "PATCH",
        f"/api/v1/repositories/{SECRET}",
        "alice",
        json={"description": "secret sauce recipe"},
    )
    assert described.status_code == 200, described.text
    return image


def test_a_token_for_one_registry_is_refused_by_another(stack, secret):
    for_reg1 = stack.token("reg1", f"repository:{SECRET}:pull", "alice").json()["token"]
    assert (
        OciClient(stack.registries["reg1"].url, token=for_reg1)
        .get_manifest(SECRET, "1")
        .status_code
        == 200
    )
    at_reg2 = OciClient(stack.registries["reg2"].url, token=for_reg1)
    for response in (at_reg2.get_manifest(SECRET, "1"), at_reg2.ping(), at_reg2.catalog()):
        assert response.status_code == 401, response.text
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_pushing_into_another_users_namespace_is_denied(stack, secret):
    bob = stack.client("reg1", "bob")
    upload = bob.request("POST", f"/v2/{SECRET}/blobs/uploads/")
    assert upload.status_code == 401, upload.text
    assert 'error="insufficient_scope"' in upload.headers["WWW-Authenticate"]
    granted = bob.last_token_response.json()
    assert granted["token"]
    evil = Image.random(layers=1, label="evil")
    layout = evil.write_layout(os.path.join(stack.workdir, "evil"), "1")
    registry = stack.registries["reg1"].address
    assert stack.login("bob").copy(layout, f"docker://{registry}/{SECRET}:1").returncode != 0
    assert stack.login("bob").copy(layout, f"docker://{registry}/alice/new:1").returncode != 0
    # The image stayed alice's, and no repository was allocated for bob's attempt.
    owner = stack.client("reg1", "alice")
    assert owner.get_manifest(SECRET, "1").headers["Docker-Content-Digest"] == secret.digest
    assert stack.api("GET", "/api/v1/repositories/alice/new", "alice").status_code == 404
    # Nor through the v1 handshake (PUT allocates a repository and hands out a push token).
    put = stack.api("PUT", "/v1/repositories/alice/new2/", "bob", json=[])
    assert put.status_code in (401, 403), put.text
    assert "X-Docker-Token" not in put.headers


@pytest.mark.parametrize("outsider", [None, "bob"])
def test_private_repository_invisible_at_the_registry(stack, secret, outsider):
    client = stack.client("reg1", outsider)
    client.authorize("registry:catalog:*", f"repository:{SECRET}:pull")
    catalog = client.catalog()
    assert catalog.status_code in (200, 401), catalog.text
    if catalog.status_code == 200:
        assert SECRET not in catalog.json()["repositories"]
    for response in (
        client.list_tags(SECRET),
        client.get_manifest(SECRET, "1"),
        client.get_manifest(SECRET, secret.digest),
        client.get_manifest(SECRET, "1", method="HEAD"),
        client.get_blob(SECRET, secret.layer_digests[0]),
        client.request("GET", f"/v2/{SECRET}/referrers/{secret.digest}"),
    ):
        assert response.status_code == 401, (response.request.url, response.text)
        assert secret.manifest not in response.content


@pytest.mark.parametrize("outsider", [None, "bob"])
def test_private_repository_invisible_at_the_index(stack, secret, outsider):
    unknown = stack.api("GET", "/api/v1/repositories/alice/no-such-thing", outsider)
    assert unknown.status_code == 404
    paths = [
        f"/api/v1/repositories/{SECRET}",
        f"/api/v1/repositories/{SECRET}/-/tags",
        f"/api/v1/repositories/{SECRET}/-/tags/1",
        f"/api/v1/repositories/{SECRET}/-/stars",
        f"/api/v1/repositories/{SECRET}/-/comments",
        f"/api/v1/repositories/{SECRET}/-/registries",
    ]
    for path in paths:
        response = stack.api("GET", path, outsider)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == unknown.json()["error"]["code"], path
        assert "sauce" not in response.text.replace(SECRET, "")
    listed = stack.api("GET", "/api/v1/repositories", outsider, params={"namespace": "alice"})
    assert listed.status_code == 200, listed.text
    assert SECRET not in [r["full_name"] for r in listed.json()["items"]]
    for query in ("secret", "sauce", "recipe"):
        found = stack.api("GET", "/api/v1/search", outsider, params={"q": query})
        assert found.status_code == 200, found.text
        assert SECRET not in [r["full_name"] for r in found.json()["items"]], query
        v1 = stack.api("GET", "/v1/search", outsider, params={"q": query})
        assert v1.status_code == 200, v1.text
        assert SECRET not in [r["name"] for r in v1.json()["results"]], query
    handshake = stack.api(
        "GET", f"/v1/repositories/{SECRET}/images", outsider, headers={"X-Docker-Token": "true"}
    )
    assert handshake.status_code == 404
    assert "X-Docker-Token" not in handshake.headers
    assert "X-Docker-Endpoints" not in handshake.headers
    # The token endpoint answers, but what it grants does not open the repository.
    token = stack.token("reg1", f"repository:{SECRET}:pull", outsider)
    assert token.status_code == 200, token.text
    refused = OciClient(stack.registries["reg1"].url, token=token.json()["token"])
    assert refused.get_manifest(SECRET, "1").status_code == 401


def test_the_owner_and_administrators_do_see_it(stack, secret):
    """The checks above can fail: the same paths show the repository to those allowed."""
    for user in ("alice", ADMIN):
        assert stack.api("GET", f"/api/v1/repositories/{SECRET}", user).status_code == 200
        found = stack.api("GET", "/api/v1/search", user, params={"q": "sauce"})
        assert SECRET in [r["full_name"] for r in found.json()["items"]], user
        v1 = stack.api("GET", "/v1/search", user, params={"q": "sauce"})
        assert SECRET in [r["name"] for r in v1.json()["results"]], user
    admin = stack.client("reg1", ADMIN)
    admin.authorize("registry:catalog:*", f"repository:{SECRET}:pull")
    assert SECRET in admin.catalog_names()
    assert admin.get_manifest(SECRET, "1").status_code == 200


def test_registry_calls_need_the_registrys_credential(stack, secret):
    """The Index's internal endpoints refuse anonymous and forged registries."""
    token = stack.token("reg1", f"repository:{SECRET}:pull", "alice").json()["token"]
    url = stack.index.url + "/internal/v1/tokens/verify"
    stolen = ("reg2", stack.registries["reg1"].credential)  # a credential under another name
    for auth in (None, ("reg1", "forged-credential"), stolen):
        response = requests.post(url, json={"token": token}, auth=auth, timeout=10)
        assert response.status_code in (401, 403), (auth and auth[0], response.text)
    genuine = requests.post(
        url, json={"token": token}, timeout=10, auth=("reg1", stack.registries["reg1"].credential)
    )
    assert genuine.status_code == 200, genuine.text
    # reg2's own credential cannot verify a token meant for reg1 either.
    other = requests.post(
        url, json={"token": token}, timeout=10, auth=("reg2", stack.registries["reg2"].credential)
    )
    assert other.status_code == 422, other.text
    assert other.json()["error"]["detail"]["reason"] == "wrong_audience"


def test_a_registry_cannot_rewrite_another_namespace_through_its_events(stack, secret):
    """reg2 serves carol: its events for alice's repositories are refused one by one (and
    acknowledged, so its outbox would not retry them); nothing of alice's changes."""
    before = stack.tags_at_index(SECRET, "alice")
    bogus = "sha256:" + "0" * 64
    target = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 2, "length": 2}
    events = [
        {"action": "delete", "target": {"repository": SECRET}},
        {
            "action": "push",
            "target": {**target, "repository": "alice/planted", "digest": bogus, "tag": "1"},
        },
        {"action": "push", "target": {**target, "repository": SECRET, "digest": bogus, "tag": "1"}},
        {
            "action": "push",
            "target": {**target, "repository": "carol/own", "digest": bogus, "tag": "1"},
        },
    ]
    envelope = {
        "events": [
            {"id": f"forged-{i}", "timestamp": "2024-01-02T03:04:05Z", **event}
            for i, event in enumerate(events)
        ]
    }
    url = stack.index.url + "/internal/v1/events"
    answer = requests.post(
        url, json=envelope, timeout=10, auth=("reg2", stack.registries["reg2"].credential)
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accepted"], body["duplicates"]) == (1, 0)  # carol/own: its namespace
    assert [r["id"] for r in body["refused"]] == ["forged-0", "forged-1", "forged-2"]
    assert all("does not serve namespace alice" in r["reason"] for r in body["refused"])
    assert stack.tags_at_index(SECRET, "alice") == before
    assert before["1"]["digest"] == secret.digest
    planted = stack.api("GET", "/api/v1/repositories/alice/planted", "alice")
    assert planted.status_code == 404, planted.text
    again = requests.post(
        url, json=envelope, timeout=10, auth=("reg2", stack.registries["reg2"].credential)
    )
    assert again.json() == {"accepted": 0, "duplicates": 4, "refused": []}
