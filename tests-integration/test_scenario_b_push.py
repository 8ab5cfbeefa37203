"""Scenario B: push to a repository (docs/architecture.md).

alice logs in (skopeo -> the Bearer challenge -> the Index's token endpoint with her
credentials); the token request for ``repository:alice/app:pull,push`` allocates the
repository at the Index (step 2); the registry checks the token with the Index and accepts
the content (3-4); its durable events then make the Index record the tag, digest and layers
(5). Pushing into someone else's namespace is denied. Pushed with skopeo, the protocol
client, and Docker's engine (``docker push``, a manifest list with ``docker manifest``,
``docker pull --platform``); ``docker login`` to the Index's own host, then ``docker search``
through it.
"""

from __future__ import annotations

import os
import re

import pytest
from oci_client import Image, TokenDenied
from stack import PASSWORDS, wait_for
from wharf_protocol import mediatypes


@pytest.fixture(scope="module")
def alice(token_stack):
    return token_stack.login("alice")


def _layout(stack, image: Image, label: str, tag: str) -> str:
    return image.write_layout(os.path.join(stack.workdir, f"layout-{label}"), tag)


def _tag_detail(stack, repository: str, tag: str, user: str):
    response = stack.api("GET", f"/api/v1/repositories/{repository}/-/tags/{tag}", user)
    return response.json() if response.status_code == 200 else None


def test_push_allocates_the_repository_and_the_index_records_the_image(token_stack, alice):
    stack = token_stack
    assert stack.api("GET", "/api/v1/repositories/alice/app", "alice").status_code == 404
    image = Image.random(layers=3, label="b-app")
    registry = stack.registries["reg1"].address
    alice.copy(_layout(stack, image, "b-app", "1"), f"docker://{registry}/alice/app:1", check=True)

    repository = stack.api("GET", "/api/v1/repositories/alice/app", "alice")
    assert repository.status_code == 200, repository.text
    assert repository.json()["namespace"] == "alice"
    detail = wait_for(
        lambda: _tag_detail(stack, "alice/app", "1", "alice"),
        timeout=30,
        message="the Index to record alice/app:1 from events",
    )
    assert detail["digest"] == image.digest
    assert detail["config_digest"] == image.config_digest
    assert [layer["digest"] for layer in detail["layers"]] == image.layer_digests
    assert [layer["size"] for layer in detail["layers"]] == [len(x) for x in image.layers]
    assert detail["layers_size"] == sum(len(x) for x in image.layers)
    assert detail["pushed_by"] == "alice"

    # A second tag of the same image, and a new image under the first tag.
    alice.copy(f"docker://{registry}/alice/app:1", f"docker://{registry}/alice/app:2", check=True)
    newer = Image.random(layers=1, label="b-app-newer")
    alice.copy(
        _layout(stack, newer, "b-newer", "1"), f"docker://{registry}/alice/app:1", check=True
    )

    def recorded():
        tags = stack.tags_at_index("alice/app", "alice")
        done = set(tags) == {"1", "2"} and tags["1"]["digest"] == newer.digest
        return tags if done else None

    tags = wait_for(recorded, timeout=30, message="tags 1 (re-pushed) and 2 at the Index")
    assert tags["2"]["digest"] == image.digest
    listed = alice.list_tags(f"{registry}/alice/app", check=True)
    assert '"1"' in listed.stdout and '"2"' in listed.stdout


def test_the_token_request_allocates_the_repository(token_stack):
    """Step 2 on its own: asking for push on a new name in one's namespace allocates it."""
    stack = token_stack
    assert stack.api("GET", "/api/v1/repositories/alice/allocated", "alice").status_code == 404
    token = stack.token("reg1", "repository:alice/allocated:pull,push", "alice")
    assert token.status_code == 200, token.text
    allocated = stack.api("GET", "/api/v1/repositories/alice/allocated", "alice")
    assert allocated.status_code == 200, allocated.text
    assert allocated.json()["permissions"]["push"] is True
    # bob asking the same for alice's namespace allocates nothing.
    assert stack.token("reg1", "repository:alice/bobs:pull,push", "bob").status_code == 200
    assert stack.api("GET", "/api/v1/repositories/alice/bobs", "alice").status_code == 404


def test_chunked_push_with_the_protocol_client(token_stack):
    stack = token_stack
    client = stack.client("reg1", "alice")
    image = Image.random(layers=2, size=300_000, label="b-chunked")
    digest = client.push_image("alice/chunked", "v1", image, chunk_size=65536)
    assert digest == image.digest
    pulled = client.get_manifest("alice/chunked", "v1")
    assert pulled.status_code == 200 and pulled.content == image.manifest
    detail = wait_for(
        lambda: _tag_detail(stack, "alice/chunked", "v1", "alice"),
        timeout=30,
        message="the Index to record alice/chunked:v1",
    )
    assert detail["digest"] == image.digest


def test_push_to_another_users_namespace_is_denied(token_stack, alice):
    stack = token_stack
    image = Image.random(layers=1, label="b-stolen")
    registry = stack.registries["reg1"].address
    result = alice.copy(_layout(stack, image, "b-stolen", "1"), f"docker://{registry}/bob/stolen:1")
    assert result.returncode != 0
    # Neither allocated at the Index nor stored at the registry.
    assert stack.api("GET", "/api/v1/repositories/bob/stolen", "bob").status_code == 404
    client = stack.client("reg1", "alice")
    upload = client.request("POST", "/v2/bob/stolen/blobs/uploads/")
    assert upload.status_code == 401, upload.text
    assert 'error="insufficient_scope"' in upload.headers["WWW-Authenticate"]
    stored = os.path.join(stack.storage_root("reg1"), "docker/registry/v2/repositories/bob")
    assert not os.path.exists(os.path.join(stored, "stolen"))


def test_anonymous_push_is_refused(token_stack):
    client = token_stack.client("reg1")
    response = client.request("POST", "/v2/alice/anon/blobs/uploads/")
    assert response.status_code == 401, response.text
    assert token_stack.api("GET", "/api/v1/repositories/alice/anon", "alice").status_code == 404


def test_wrong_password_gets_no_token(token_stack):
    stack = token_stack
    failed = stack.skopeo("wrong").login(
        stack.registries["reg1"].address, "alice", "not-alices-password", check=False
    )
    assert failed.returncode != 0
    client = stack.client("reg1")
    client.auth = ("alice", "not-alices-password")
    with pytest.raises(TokenDenied, match="401"):
        client.request("POST", "/v2/alice/app/blobs/uploads/")


# -- the same with Docker's engine --------------------------------------------------------


@pytest.fixture(scope="module")
def alice_docker(token_stack, make_docker):
    """alice's docker client, logged in to reg1 (with an identity token, not her password)."""
    registry = token_stack.registries["reg1"].address
    return make_docker("b-alice").login_with_identity_token(registry, "alice", PASSWORDS["alice"])


def test_docker_push_then_pull_gives_the_same_digest(token_stack, alice_docker):
    stack = token_stack
    registry = stack.registries["reg1"].address
    image = Image.random(layers=2, label="b-docker")
    reference = f"{registry}/alice/docker-app:1"
    assert alice_docker.load(stack.skopeo(), image, reference) == image.config_digest
    digest = alice_docker.push(reference)

    at_registry = stack.client("reg1", "alice").get_manifest("alice/docker-app", "1")
    assert at_registry.status_code == 200, at_registry.text
    assert at_registry.headers["Docker-Content-Digest"] == digest
    assert at_registry.headers["Content-Type"] == mediatypes.DOCKER_MANIFEST
    detail = wait_for(
        lambda: _tag_detail(stack, "alice/docker-app", "1", "alice"),
        timeout=30,
        message="the Index to record alice/docker-app:1",
    )
    assert detail["digest"] == digest and detail["config_digest"] == image.config_digest
    assert detail["pushed_by"] == "alice"

    alice_docker.remove(reference)
    alice_docker.pull(reference, check=True)
    pulled = alice_docker.inspect(reference)
    assert pulled["RepoDigests"] == [f"{registry}/alice/docker-app@{digest}"]
    assert pulled["Id"] == image.config_digest


def test_docker_push_to_another_users_namespace_is_denied(token_stack, alice_docker):
    stack = token_stack
    registry = stack.registries["reg1"].address
    reference = f"{registry}/bob/docker-stolen:1"
    alice_docker.load(stack.skopeo(), Image.random(layers=1, label="b-stolen-docker"), reference)
    refused = alice_docker.run("push", reference)
    assert refused.returncode != 0
    assert re.search(r"denied|unauthorized", refused.stderr, re.IGNORECASE), refused.stderr
    assert stack.api("GET", "/api/v1/repositories/bob/docker-stolen", "bob").status_code == 404


def test_docker_manifest_list_push_and_platform_pull(token_stack, alice_docker):
    """Two single-platform images pushed with docker, a manifest list of them with ``docker
    manifest``; ``docker pull --platform`` takes the right one (the engine stores a foreign
    architecture's image; nothing runs)."""
    stack = token_stack
    registry = stack.registries["reg1"].address
    repository = f"{registry}/alice/docker-multi"
    platforms = {
        arch: Image.random(layers=1, label=f"b-multi-{arch}", arch=arch)
        for arch in ("amd64", "arm64")
    }
    for arch, image in platforms.items():
        alice_docker.load(stack.skopeo(), image, f"{repository}:{arch}")
        alice_docker.push(f"{repository}:{arch}")
    members = [f"{repository}:{arch}" for arch in platforms]
    digest = alice_docker.manifest_push(f"{repository}:1", *members)

    at_registry = stack.client("reg1", "alice").get_manifest("alice/docker-multi", "1")
    assert at_registry.status_code == 200, at_registry.text
    assert at_registry.headers["Docker-Content-Digest"] == digest
    assert at_registry.headers["Content-Type"] == mediatypes.DOCKER_MANIFEST_LIST
    listed = {
        (m["platform"]["os"], m["platform"]["architecture"])
        for m in at_registry.json()["manifests"]
    }
    assert listed == {("linux", "amd64"), ("linux", "arm64")}
    detail = wait_for(
        lambda: _tag_detail(stack, "alice/docker-multi", "1", "alice"),
        timeout=30,
        message="the Index to record alice/docker-multi:1",
    )
    assert detail["digest"] == digest

    for arch, image in platforms.items():
        alice_docker.remove(*members, f"{repository}:1")
        alice_docker.pull(f"{repository}:1", "--platform", f"linux/{arch}", check=True)
        pulled = alice_docker.inspect(f"{repository}:1")
        assert pulled["RepoDigests"] == [f"{repository}@{digest}"]
        assert pulled["Id"] == image.config_digest and pulled["Architecture"] == arch


def test_docker_login_to_the_index_and_search_through_it(token_stack, make_docker):
    """``docker login INDEX`` (the Index's /v2/ challenge, a login token, an identity token)
    and ``docker search INDEX/...``, which then shows the user's private repositories."""
    stack = token_stack
    index = f"{stack.index.host}:{stack.index.port}"
    for name, visibility in (("alice/findme-open", "public"), ("alice/findme-hidden", "private")):
        created = stack.api(
            "POST", "/api/v1/repositories", "alice", json={"name": name, "visibility": visibility}
        )
        assert created.status_code == 201, created.text
    everyone = ["alice/findme-open"]

    alice = make_docker("b-alice-index").login_with_identity_token(
        index, "alice", PASSWORDS["alice"]
    )
    assert sorted(alice.search(f"{index}/findme")) == ["alice/findme-hidden", "alice/findme-open"]
    bob = make_docker("b-bob-index").login_with_identity_token(index, "bob", PASSWORDS["bob"])
    assert bob.search(f"{index}/findme") == everyone
    assert make_docker("b-anonymous").search(f"{index}/findme") == everyone
    alice.logout(index)
    assert alice.search(f"{index}/findme") == everyone

    wrong = make_docker("b-wrong").login(index, "alice", "not-alices-password", check=False)
    assert wrong.returncode != 0
