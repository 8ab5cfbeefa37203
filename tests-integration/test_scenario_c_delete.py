"""Scenario C: delete a repository (docs/architecture.md).

The Index receives the request (API as the owner, or ``wharf-index repo delete``), marks the
repository ``deleting``, gives itself a short-lived delete token and calls the registry's
``DELETE /v2/_wharf/repositories/<name>``; the registry checks the token with the Index,
deletes tags, manifests and links, and reports a repository-delete event; the Index then
removes every record (tags, stars, comments). Each step may be repeated after a crash.
Afterwards neither skopeo nor Docker's engine can pull the repository.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from oci_client import Image
from stack import ADMIN, PASSWORDS, wait_for

DELETE_TIMEOUT = 45  # s: registry call + event delivery (interval 1 s, backoff after errors)
REDRIVE_INTERVAL = 2  # s: INDEX_DELETION_REDRIVE_INTERVAL of this module's Index


@pytest.fixture(scope="module")
def token_stack(make_stack):
    """The shared layout (conftest.token_stack) with a quick deletion re-drive."""
    stack = make_stack(index_env={"INDEX_DELETION_REDRIVE_INTERVAL": str(REDRIVE_INTERVAL)})
    stack.bootstrap()
    stack.add_registry("reg1", "registry", ["alice", "bob"])
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def alice(token_stack):
    return token_stack.login("alice")


def _push(stack, alice, repository: str) -> Image:
    """Push ``repository:1`` and ``:2`` with skopeo; star and comment; wait for the Index."""
    image = Image.random(layers=2, label=repository)
    registry = stack.registries["reg1"].address
    layout = image.write_layout(os.path.join(stack.workdir, repository.replace("/", "_")), "1")
    alice.copy(layout, f"docker://{registry}/{repository}:1", check=True)
    alice.copy(layout, f"docker://{registry}/{repository}:2", check=True)
    wait_for(
        lambda: set(stack.tags_at_index(repository, "alice")) == {"1", "2"},
        timeout=30,
        message=f"the Index to record {repository}:1 and :2",
    )
    star = stack.api("PUT", f"/api/v1/repositories/{repository}/-/stars", "alice")
    assert star.status_code in (200, 201, 204), star.text
    comment = stack.api(
        "POST",
        f"/api/v1/repositories/{repository}/-/comments",
        "alice",
        json={"body": "nice image"},
    )
    assert comment.status_code == 201, comment.text
    return image


def _catalog_client(stack, repository: str):
    """A client holding an administrator's token for the catalog and ``repository``."""
    client = stack.client("reg1", ADMIN)
    client.authorize("registry:catalog:*", f"repository:{repository}:pull")
    return client


def _gone_from_registry(stack, repository: str) -> bool:
    """True when no file is left under the repository's directory in the registry's storage
    (tags, manifest revisions, layer links, referrers, uploads; blobs live elsewhere)."""
    directory = os.path.join(
        stack.storage_root("reg1"), "docker/registry/v2/repositories", repository
    )
    left = [os.path.join(d, f) for d, _, files in os.walk(directory) for f in files]
    return not left


def _gone_from_index(stack, repository: str) -> bool:
    found = stack.api("GET", f"/api/v1/repositories/{repository}", "alice")
    return found.status_code == 404


def _assert_deleted(stack, alice, repository: str, catalog_client) -> None:
    wait_for(
        lambda: _gone_from_registry(stack, repository),
        timeout=DELETE_TIMEOUT,
        message=f"the registry to delete {repository}'s tags",
    )
    wait_for(
        lambda: _gone_from_index(stack, repository),
        timeout=DELETE_TIMEOUT,
        message=f"the Index to remove its records of {repository}",
    )
    registry = stack.registries["reg1"].address
    assert alice.inspect(f"{registry}/{repository}:1").returncode != 0
    assert repository not in catalog_client.catalog_names()
    manifest = catalog_client.get_manifest(repository, "1")
    assert manifest.status_code in (401, 404), manifest.text  # 404 while the token is cached
    # Every record: tags, stars (alice's starred list), comments, search.
    assert stack.api("GET", f"/api/v1/repositories/{repository}/-/tags", "alice").status_code == 404
    starred = stack.api("GET", "/api/v1/users/alice/stars", "alice")
    assert starred.status_code == 200, starred.text
    assert repository not in json.dumps(starred.json())
    found = stack.api("GET", "/api/v1/search", "alice", params={"q": repository.split("/")[1]})
    assert repository not in [r["full_name"] for r in found.json()["items"]]
    rows = stack.postgres.execute(
        "SELECT count(*) FROM repositories WHERE full_name = %s",
        dbname=stack.database,
        params=(repository,),
    )
    assert rows == [(0,)]


def test_delete_through_the_api(token_stack, alice):
    stack = token_stack
    _push(stack, alice, "alice/c-api")
    catalog = _catalog_client(stack, "alice/c-api")
    assert "alice/c-api" in catalog.catalog_names()
    uploader = stack.client("reg1", "alice")  # an open upload: deleted with the repository
    location = uploader.start_upload("alice/c-api")
    uploader.patch_chunk(location, b"half a layer", 0)
    # bob may not delete alice's repository (and does not even see it: private).
    refused = stack.api("DELETE", "/api/v1/repositories/alice/c-api", "bob")
    assert refused.status_code == 404, refused.text
    response = stack.api("DELETE", "/api/v1/repositories/alice/c-api", "alice")
    assert response.status_code == 202, response.text
    _assert_deleted(stack, alice, "alice/c-api", catalog)
    assert uploader.request("GET", location).status_code in (401, 404)


def test_delete_through_the_cli(token_stack, alice):
    stack = token_stack
    _push(stack, alice, "alice/c-cli")
    catalog = _catalog_client(stack, "alice/c-cli")
    result = stack.cli("repo", "delete", "alice/c-cli")
    assert result.returncode == 0
    _assert_deleted(stack, alice, "alice/c-cli", catalog)


def test_delete_completes_after_the_registry_was_down(token_stack, alice):
    """The registry is killed before the Index calls it: the request is still accepted
    (the repository is marked deleting), and once the registry is back the deletion
    completes (re-driven by the Index, or by repeating the request: each step repeatable)."""
    stack = token_stack
    _push(stack, alice, "alice/c-crash-reg")
    catalog = _catalog_client(stack, "alice/c-crash-reg")
    registry = stack.registries["reg1"].service
    registry.kill()
    try:
        response = stack.api("DELETE", "/api/v1/repositories/alice/c-crash-reg", "alice")
        assert response.status_code == 202, response.text
        marked = stack.api("GET", "/api/v1/repositories/alice/c-crash-reg", "alice")
        assert marked.status_code == 200 and marked.json()["status"] == "deleting", marked.text
    finally:
        registry.start(timeout=60)
    again = stack.api("DELETE", "/api/v1/repositories/alice/c-crash-reg", "alice")
    assert again.status_code in (202, 404), again.text
    _assert_deleted(stack, alice, "alice/c-crash-reg", catalog)


def test_delete_completes_after_the_index_crashed_before_the_event(token_stack, alice):
    """The Index is killed right after it accepted the deletion (the registry's
    repository-delete event is then typically still in the outbox): after its restart the
    event is delivered and the records go."""
    stack = token_stack
    _push(stack, alice, "alice/c-crash-index")
    catalog = _catalog_client(stack, "alice/c-crash-index")
    response = stack.api("DELETE", "/api/v1/repositories/alice/c-crash-index", "alice")
    assert response.status_code == 202, response.text
    stack.index.kill()
    stack.index.start(timeout=60)
    _assert_deleted(stack, alice, "alice/c-crash-index", catalog)


def test_stuck_deletion_is_redriven_in_the_background(token_stack, alice):
    """Nobody repeats the request: the Index's re-drive finishes the deletion once the
    registry is back."""
    stack = token_stack
    _push(stack, alice, "alice/c-redrive")
    catalog = _catalog_client(stack, "alice/c-redrive")
    registry = stack.registries["reg1"].service
    registry.kill()
    try:
        response = stack.api("DELETE", "/api/v1/repositories/alice/c-redrive", "alice")
        assert response.status_code == 202, response.text
        # While deleting, nothing but delete is granted: no pulls, no pushes.
        token = stack.token("reg1", "repository:alice/c-redrive:pull,push", "alice")
        assert token.status_code == 200, token.text
    finally:
        registry.start(timeout=60)
    refused = stack.client("reg1", token=token.json()["token"]).get_manifest("alice/c-redrive", "1")
    assert refused.status_code == 401, refused.text
    _assert_deleted(stack, alice, "alice/c-redrive", catalog)


def test_cli_delete_with_the_registry_down_then_redrive(token_stack, alice):
    stack = token_stack
    _push(stack, alice, "alice/c-cli-down")
    catalog = _catalog_client(stack, "alice/c-cli-down")
    registry = stack.registries["reg1"].service
    registry.kill()
    try:
        pending = stack.cli("repo", "delete", "alice/c-cli-down", check=False)
        assert pending.returncode == 1, (pending.stdout, pending.stderr)
        assert "deleting" in pending.stderr
    finally:
        registry.start(timeout=60)
    redriven = stack.cli("repo", "redrive", check=False)  # or the background re-drive did it
    assert redriven.returncode == 0, (redriven.stdout, redriven.stderr)
    _assert_deleted(stack, alice, "alice/c-cli-down", catalog)


def test_seed_handshake_delete_with_the_client_carrying_the_token(token_stack, alice):
    """The original /v1 flow: ``DELETE /v1/repositories/<name>/`` answers with a delete token and
    the registry; the client sends the delete signal to the registry with that token; the
    registry checks it with the Index, deletes, and its event removes the records."""
    stack = token_stack
    _push(stack, alice, "alice/c-v1")
    catalog = _catalog_client(stack, "alice/c-v1")
    response = stack.api("DELETE", "/v1/repositories/alice/c-v1/", "alice")
    assert response.status_code == 202, response.text
    registry = stack.registries["reg1"]
    assert [e.strip() for e in response.headers["X-Docker-Endpoints"].split(",")] == [
        registry.address
    ]
    token = response.headers["X-Docker-Token"]
    client = stack.client("reg1", token=token)
    assert client.get_manifest("alice/c-v1", "1").status_code == 401  # delete only
    deleted = client.delete_repository("alice/c-v1")
    assert deleted.status_code == 202, deleted.text
    _assert_deleted(stack, alice, "alice/c-v1", catalog)


def test_deleted_name_can_be_pushed_again(token_stack, alice):
    """After the deletion completed, the name is free: a new push allocates it afresh."""
    stack = token_stack
    _push(stack, alice, "alice/c-again")
    catalog = _catalog_client(stack, "alice/c-again")
    assert stack.api("DELETE", "/api/v1/repositories/alice/c-again", "alice").status_code == 202
    _assert_deleted(stack, alice, "alice/c-again", catalog)
    image = _push(stack, alice, "alice/c-again")
    tags = stack.tags_at_index("alice/c-again", "alice")
    assert tags["1"]["digest"] == image.digest


def test_docker_pull_fails_once_the_repository_is_deleted(token_stack, alice, make_docker):
    """Pushed and pulled with Docker's engine; deleted through the Index's API; then the
    engine's pull is refused (the name is unknown, or no longer granted)."""
    stack = token_stack
    registry = stack.registries["reg1"].address
    reference = f"{registry}/alice/c-docker:1"
    docker = make_docker("c-alice").login_with_identity_token(registry, "alice", PASSWORDS["alice"])
    image = Image.random(layers=2, label="c-docker")
    docker.load(stack.skopeo(), image, reference)
    digest = docker.push(reference)
    wait_for(
        lambda: "1" in stack.tags_at_index("alice/c-docker", "alice"),
        timeout=30,
        message="the Index to record alice/c-docker:1",
    )
    docker.remove(reference)
    docker.pull(reference, check=True)
    assert docker.inspect(reference)["RepoDigests"] == [f"{registry}/alice/c-docker@{digest}"]
    catalog = _catalog_client(stack, "alice/c-docker")

    response = stack.api("DELETE", "/api/v1/repositories/alice/c-docker", "alice")
    assert response.status_code == 202, response.text
    _assert_deleted(stack, alice, "alice/c-docker", catalog)
    docker.remove(reference)
    refused = docker.pull(reference)
    assert refused.returncode != 0
    assert re.search(r"not found|unknown|denied|unauthorized", refused.stderr, re.IGNORECASE), (
        refused.stderr
    )
    assert docker.inspect(reference) is None
    by_digest = docker.pull(f"{registry}/alice/c-docker@{digest}")
    assert by_digest.returncode != 0, by_digest.stdout
