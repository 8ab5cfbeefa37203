"""Scenario A: pull from a repository (docs/architecture.md).

The client asks the Index (token endpoint, or the original /v1 handshake with
``X-Docker-Token: true``), the Index answers with the registry (``X-Docker-Endpoints``), the
layer checksums and a token (anonymous for public repositories); the registry checks the
token with the Index (it holds no signing key: ``REGISTRY_AUTH_TOKEN_VERIFY=remote``) and
serves the image. Private repositories: anonymous refused, the owner allowed. Pulled with
skopeo and with Docker's engine (``docker login`` keeps an identity token; after ``docker
logout``, and for another user, the private image is refused).
"""

from __future__ import annotations

import json
import os
import re

import pytest
from oci_client import Image, OciClient
from stack import PASSWORDS, wait_for

PUBLIC, PRIVATE = "alice/public-app", "alice/private-app"


@pytest.fixture(scope="module")
def images(token_stack):
    """alice/public-app:1 (public) and alice/private-app:1 (private), pushed with skopeo."""
    stack = token_stack
    created = stack.api(
        "POST", "/api/v1/repositories", "alice", json={"name": PUBLIC, "visibility": "public"}
    )
    assert created.status_code == 201, created.text
    alice = stack.login("alice")
    registry = stack.registries["reg1"].address
    pushed = {}
    for name in (PUBLIC, PRIVATE):
        image = Image.random(layers=2, label=name)
        layout = image.write_layout(os.path.join(stack.workdir, name.replace("/", "_")), "1")
        alice.copy(layout, f"docker://{registry}/{name}:1", check=True)
        pushed[name] = image
    for name in pushed:  # the push events reach the Index through the outbox, within seconds
        wait_for(
            lambda name=name: "1" in stack.tags_at_index(name, "alice"),
            message=f"the Index to record {name}:1",
        )
    return pushed


def test_public_image_pulled_anonymously_with_skopeo(token_stack, images, tmp_path):
    anonymous = token_stack.skopeo("anonymous")
    reference = f"{token_stack.registries['reg1'].address}/{PUBLIC}:1"
    inspected = anonymous.inspect(reference, check=True)
    info = json.loads(inspected.stdout)
    assert info["Digest"] == images[PUBLIC].digest
    assert info["Layers"] == images[PUBLIC].layer_digests
    anonymous.copy(f"docker://{reference}", f"oci:{tmp_path}/out:1", check=True)
    for digest, layer in zip(images[PUBLIC].layer_digests, images[PUBLIC].layers, strict=True):
        blob = tmp_path / "out" / "blobs" / "sha256" / digest.split(":", 1)[1]
        assert blob.read_bytes() == layer


def test_private_image_refused_anonymously(token_stack, images):
    reference = f"{token_stack.registries['reg1'].address}/{PRIVATE}:1"
    result = token_stack.skopeo("anonymous").inspect(reference)
    assert result.returncode != 0
    anonymous = token_stack.client("reg1")
    response = anonymous.get_manifest(PRIVATE, "1")
    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    # The token the Index gave the anonymous caller grants nothing on the private repository.
    granted = anonymous.last_token_response.json()
    assert granted["token"]
    blob = anonymous.get_blob(PRIVATE, images[PRIVATE].layer_digests[0])
    assert blob.status_code == 401


def test_private_image_pulled_by_owner_not_by_others(token_stack, images, tmp_path):
    reference = f"{token_stack.registries['reg1'].address}/{PRIVATE}:1"
    alice = token_stack.login("alice")
    info = json.loads(alice.inspect(reference, check=True).stdout)
    assert info["Digest"] == images[PRIVATE].digest
    alice.copy(f"docker://{reference}", f"oci:{tmp_path}/mine:1", check=True)
    bob = token_stack.login("bob")
    assert bob.inspect(reference).returncode != 0
    response = token_stack.client("reg1", "bob").get_manifest(PRIVATE, "1")
    assert response.status_code == 401


def test_v1_handshake_names_the_registry_and_gives_a_token_it_accepts(token_stack, images):
    registry = token_stack.registries["reg1"]
    response = token_stack.api(
        "GET", f"/v1/repositories/{PUBLIC}/images", headers={"X-Docker-Token": "true"}
    )
    assert response.status_code == 200, response.text
    endpoints = [e.strip() for e in response.headers["X-Docker-Endpoints"].split(",")]
    assert registry.address in endpoints
    checksums = {entry["checksum"] for entry in response.json()}
    assert set(images[PUBLIC].layer_digests) <= checksums
    token = response.headers["X-Docker-Token"]
    with_token = OciClient(registry.url, token=token)
    manifest = with_token.get_manifest(PUBLIC, "1")
    assert manifest.status_code == 200, manifest.text
    assert manifest.headers["Docker-Content-Digest"] == images[PUBLIC].digest
    blob = with_token.get_blob(PUBLIC, images[PUBLIC].layer_digests[0])
    assert blob.status_code == 200
    assert blob.content == images[PUBLIC].layers[0]
    # The token is for pulling: pushing with it is refused.
    upload = with_token.request("POST", f"/v2/{PUBLIC}/blobs/uploads/")
    assert upload.status_code == 401


def test_v1_handshake_private_repository(token_stack, images):
    path = f"/v1/repositories/{PRIVATE}/images"
    anonymous = token_stack.api("GET", path, headers={"X-Docker-Token": "true"})
    assert anonymous.status_code == 404
    assert "X-Docker-Token" not in anonymous.headers
    owner = token_stack.api("GET", path, "alice", headers={"X-Docker-Token": "true"})
    assert owner.status_code == 200, owner.text
    token = owner.headers["X-Docker-Token"]
    manifest = OciClient(token_stack.registries["reg1"].url, token=token).get_manifest(PRIVATE, "1")
    assert manifest.status_code == 200, manifest.text


def test_registry_refuses_a_token_the_index_did_not_issue(token_stack, images):
    """Step 4-5: the registry asks the Index; a well-formed token signed with another key
    (as an attacker would make one) is refused, and so is garbage."""
    from wharf_protocol.keys import SigningKey
    from wharf_protocol.scopes import parse_scope
    from wharf_protocol.tokens import TokenIssuer

    forged, _ = TokenIssuer(SigningKey.generate(), "wharf-index").issue(
        "alice", "reg1", [parse_scope(f"repository:{PRIVATE}:pull")]
    )
    registry = token_stack.registries["reg1"]
    for token in (forged, "garbage"):
        response = OciClient(registry.url, token=token).get_manifest(PRIVATE, "1")
        assert response.status_code == 401, response.text
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_registry_asks_the_index_about_each_new_token(token_stack, images):
    """Step 4-5 shown by revocation: a token that is well signed but that the Index revoked
    (changing a password revokes the user's issued tokens) is refused when the registry
    first sees it; a signature check alone would accept it."""
    stack = token_stack
    registry = stack.registries["reg1"]
    bob_repo = "bob/a-revoked"
    owner = stack.client("reg1", "bob")
    owner.push_image(bob_repo, "1", Image.random(layers=1, label=bob_repo))
    unused = stack.token("reg1", f"repository:{bob_repo}:pull", "bob").json()["token"]
    stack.cli("user", "set-password", "bob", "--password-stdin", stdin="bob-new-password-2\n")
    try:
        refused = OciClient(registry.url, token=unused).get_manifest(bob_repo, "1")
        assert refused.status_code == 401, refused.text
        assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    finally:
        stack.cli("user", "set-password", "bob", "--password-stdin", stdin=PASSWORDS["bob"] + "\n")
    fresh = stack.token("reg1", f"repository:{bob_repo}:pull", "bob").json()["token"]
    assert OciClient(registry.url, token=fresh).get_manifest(bob_repo, "1").status_code == 200


def test_a_missing_repository_is_unknown_to_its_owner_and_private_to_others(token_stack, images):
    """Whoever may push to a repository may pull it, existing or not: the owner's token
    grants pull (and delete) on a name that does not exist yet, without allocating it, so
    the registry answers "unknown" (404) where it used to answer 401 insufficient_scope;
    an outsider gets exactly the answer of an existing private repository."""
    missing, digest = "alice/not-pushed-yet", "sha256:" + "0" * 64
    owner = token_stack.client("reg1", "alice")
    codes = {
        "tags": (owner.list_tags(missing), "NAME_UNKNOWN"),
        "manifest": (owner.get_manifest(missing, "1"), "MANIFEST_UNKNOWN"),
        "blob": (owner.get_blob(missing, digest), "BLOB_UNKNOWN"),
        "delete": (owner.delete_manifest(missing, digest), "MANIFEST_UNKNOWN"),
    }
    for what, (response, code) in codes.items():
        assert response.status_code == 404, (what, response.status_code, response.text)
        assert response.json()["errors"][0]["code"] == code, (what, response.text)
    granted = owner.last_token_response.json()["token"]
    assert token_stack.api("GET", f"/api/v1/repositories/{missing}", "alice").status_code == 404
    with_pull = OciClient(token_stack.registries["reg1"].url, token=granted)
    assert with_pull.request("POST", f"/v2/{missing}/blobs/uploads/").status_code == 401
    for name in (missing, PRIVATE):  # an outsider cannot tell the two apart
        bob = token_stack.client("reg1", "bob")
        for response in (
            bob.list_tags(name),
            bob.get_manifest(name, "1"),
            bob.get_blob(name, digest),
        ):
            assert response.status_code == 401, (name, response.text)
            assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


# -- the same with Docker's engine (images pushed with skopeo above, pulled with docker) ----

DENIED = re.compile(r"denied|unauthorized", re.IGNORECASE)


def _pulled(docker, reference: str, repository_digest: str, image) -> dict:
    """Pull ``reference`` afresh (the engine is shared: forget it first) and check what the
    engine made of it: the manifest digest and the image id (its config's digest)."""
    docker.remove(reference)
    docker.pull(reference, check=True)
    info = docker.inspect(reference)
    assert repository_digest in info["RepoDigests"], info["RepoDigests"]
    assert info["Id"] == image.config_digest
    return info


def test_public_image_pulled_anonymously_with_docker(token_stack, images, make_docker):
    registry = token_stack.registries["reg1"].address
    anonymous = make_docker("a-anonymous")
    _pulled(
        anonymous,
        f"{registry}/{PUBLIC}:1",
        f"{registry}/{PUBLIC}@{images[PUBLIC].digest}",
        images[PUBLIC],
    )


def test_private_image_pulled_with_docker_by_its_owner_only(token_stack, images, make_docker):
    registry = token_stack.registries["reg1"].address
    reference = f"{registry}/{PRIVATE}:1"
    anonymous = make_docker("a-anonymous")
    anonymous.remove(reference)
    refused = anonymous.pull(reference)
    assert refused.returncode != 0 and DENIED.search(refused.stderr), refused.stderr

    alice = make_docker("a-alice").login_with_identity_token(registry, "alice", PASSWORDS["alice"])
    _pulled(alice, reference, f"{registry}/{PRIVATE}@{images[PRIVATE].digest}", images[PRIVATE])
    alice.logout(registry)
    assert alice.stored_auth(registry) == {}
    alice.remove(reference)
    after_logout = alice.pull(reference)
    assert after_logout.returncode != 0 and DENIED.search(after_logout.stderr), after_logout.stderr
    assert alice.inspect(reference) is None

    bob = make_docker("a-bob").login_with_identity_token(registry, "bob", PASSWORDS["bob"])
    other_user = bob.pull(reference)
    assert other_user.returncode != 0 and DENIED.search(other_user.stderr), other_user.stderr
    assert bob.inspect(reference) is None
