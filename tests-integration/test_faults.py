"""Faults: the Index down during pulls and pushes, a registry killed with
events in its outbox and mid-upload, PostgreSQL restarted under a running Index.

Each test leaves every process running again (restarts in ``finally``). The registry backs
off at most 2 s between failed deliveries here (``REGISTRY_NOTIFICATIONS_MAXBACKOFF``) so
that records catch up quickly once the Index is back.
"""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest
import requests
from oci_client import Image
from stack import wait_for
from wharf_protocol.events import load_envelope

CATCH_UP = 90  # s: covers the registry's 60 s outbox lease left by a killed holder


@pytest.fixture(scope="module")
def stack(make_stack):
    stack = make_stack().bootstrap()
    stack.add_registry(
        "reg1", "registry", ["alice", "bob"], env={"REGISTRY_NOTIFICATIONS_MAXBACKOFF": "2"}
    )
    yield stack
    stack.close()


def _outbox(stack) -> str:
    return os.path.join(stack.storage_root("reg1"), "wharf", "outbox")


def _pending(stack) -> list[str]:
    try:
        return sorted(os.listdir(_outbox(stack)))
    except FileNotFoundError:
        return []


def _pulls_written(stack) -> int:
    """The pulls the outbox's pull events stand for (a registry counts pulls in memory and
    writes them every REGISTRY_EVENTS_PULL_FLUSH_INTERVAL, 1 s)."""
    total = 0
    for name in _pending(stack):
        with open(os.path.join(_outbox(stack), name), "rb") as f:
            total += sum(e.count for e in load_envelope(f.read()) if e.action == "pull")
    return total


def _repository(stack, name: str, user: str = "alice") -> dict | None:
    response = stack.api("GET", f"/api/v1/repositories/{name}", user)
    return response.json() if response.status_code == 200 else None


def _warm(client, repository: str) -> None:
    """Make ``client`` hold a pull+push token for ``repository`` that the registry has
    verified (and cached) while the Index was up."""
    client.authorize(f"repository:{repository}:pull,push")
    response = client.list_tags(repository)  # any authorised request caches the verification
    assert response.status_code in (200, 404), response.text


def test_index_down_during_pulls(stack):
    """Warm token cache: pulls go on. Cold cache: a clear 503 (not a 500), then fine again."""
    owner = stack.client("reg1", "alice")
    image = Image.random(layers=2, label="f-pull")
    owner.push_image("alice/f-pull", "1", image)
    assert owner.get_manifest("alice/f-pull", "1").status_code == 200  # verified, cached
    cold = stack.token("reg1", "repository:alice/f-pull:pull", "alice").json()["token"]
    stack.index.stop()
    try:
        manifest = owner.get_manifest("alice/f-pull", "1")
        assert manifest.status_code == 200, manifest.text
        assert manifest.content == image.manifest
        blob = owner.get_blob("alice/f-pull", image.layer_digests[0])
        assert blob.status_code == 200 and blob.content == image.layers[0]

        unverified = stack.client("reg1", token=cold).get_manifest("alice/f-pull", "1")
        assert unverified.status_code == 503, unverified.text
        error = unverified.json()["errors"][0]
        assert error["code"] == "INDEX_UNAVAILABLE", error
        # A client without a token cannot even reach the realm; the registry says where.
        challenge = requests.get(stack.registries["reg1"].url + "/v2/", timeout=10)
        assert challenge.status_code == 401
        assert stack.index.url + "/v2/token" in challenge.headers["WWW-Authenticate"]
    finally:
        stack.index.start(timeout=60)
    late = stack.client("reg1", token=cold).get_manifest("alice/f-pull", "1")
    assert late.status_code == 200, late.text


def test_index_down_during_a_push(stack):
    """The push completes against the registry; its events wait in the outbox; once the
    Index is back, its records catch up."""
    client = stack.client("reg1", "alice")
    _warm(client, "alice/f-push")
    image = Image.random(layers=2, label="f-push")
    stack.index.stop()
    try:
        assert client.push_image("alice/f-push", "1", image) == image.digest
        assert client.get_manifest("alice/f-push", "1").status_code == 200
        assert _pending(stack), "the push's events should wait in the outbox"
    finally:
        stack.index.start(timeout=60)
    tags = wait_for(
        lambda: stack.tags_at_index("alice/f-push", "alice"),
        timeout=CATCH_UP,
        message="the Index to catch up with alice/f-push:1",
    )
    assert tags["1"]["digest"] == image.digest
    wait_for(lambda: not _pending(stack), timeout=CATCH_UP, message="the outbox to drain")


def test_registry_killed_with_events_in_its_outbox(stack, tmp_path):
    """Events written while the Index was down survive a kill -9 of the registry, are
    delivered after its restart, and are applied once: delivering the same events again
    (a crash between the Index's acknowledgement and the removal) changes no count."""
    client = stack.client("reg1", "alice")
    _warm(client, "alice/f-outbox")
    image = Image.random(layers=2, label="f-outbox")
    registry = stack.registries["reg1"].service
    stack.index.stop()
    try:
        client.push_image("alice/f-outbox", "1", image)
        assert client.get_manifest("alice/f-outbox", "1").status_code == 200  # one pull
        # A kill -9 loses the pulls of the last flush window: wait until it is written.
        wait_for(lambda: _pulls_written(stack) == 1, timeout=10, message="the pull's flush")
        pending = _pending(stack)
        assert pending, "events should wait in the outbox while the Index is down"
        registry.kill()
        backup = tmp_path / "outbox"
        shutil.copytree(_outbox(stack), backup)
        stack.index.start(timeout=60)
        assert stack.tags_at_index("alice/f-outbox", "alice") == {}  # nobody delivered them
    finally:
        stack.index.start(timeout=60)
        registry.start(timeout=60)
    tags = wait_for(
        lambda: stack.tags_at_index("alice/f-outbox", "alice"),
        timeout=CATCH_UP,
        message="the restarted registry to deliver its outbox",
    )
    assert tags["1"]["digest"] == image.digest
    wait_for(lambda: not _pending(stack), timeout=CATCH_UP, message="the outbox to drain")
    before = _repository(stack, "alice/f-outbox")
    assert before["push_count"] == 1 and before["pull_count"] == 1, before
    assert stack.tags_at_index("alice/f-outbox", "alice")["1"]["pull_count"] == 1

    for name in os.listdir(backup):  # the same events once more
        shutil.copy(backup / name, os.path.join(_outbox(stack), name))
    wait_for(lambda: not _pending(stack), timeout=CATCH_UP, message="the re-sent events")
    after = _repository(stack, "alice/f-outbox")
    assert (after["push_count"], after["pull_count"]) == (1, 1), after
    assert stack.tags_at_index("alice/f-outbox", "alice")["1"]["pull_count"] == 1


def test_lost_events_repaired_by_registry_sync(stack):
    """Events lost with the registry's outbox (a storage restore, say): the Index's records
    drift; ``wharf-index registry sync reg1`` reconciles them with the registry."""
    client = stack.client("reg1", "alice")
    first, second, third = (Image.random(layers=1, label=f"f-sync-{i}") for i in range(3))
    client.push_image("alice/f-sync", "1", first)
    client.push_image("alice/f-sync", "2", second)
    wait_for(
        lambda: set(stack.tags_at_index("alice/f-sync", "alice")) == {"1", "2"},
        timeout=CATCH_UP,
        message="the Index to record tags 1 and 2",
    )
    client.authorize("repository:alice/f-sync:pull,push,delete")
    assert client.list_tags("alice/f-sync").status_code == 200  # verified, cached
    stack.index.stop()
    try:
        client.push_image("alice/f-sync", "3", third)
        assert client.delete_manifest("alice/f-sync", "2").status_code == 202
        for name in _pending(stack):  # the events are lost
            os.remove(os.path.join(_outbox(stack), name))
    finally:
        stack.index.start(timeout=60)
    assert set(stack.tags_at_index("alice/f-sync", "alice")) == {"1", "2"}  # drifted
    result = stack.cli("registry", "sync", "reg1")
    assert "alice/f-sync" in result.stdout, result.stdout
    tags = stack.tags_at_index("alice/f-sync", "alice")
    assert set(tags) == {"1", "3"}, tags
    assert tags["3"]["digest"] == third.digest
    detail = stack.api("GET", "/api/v1/repositories/alice/f-sync/-/tags/3", "alice").json()
    assert [layer["digest"] for layer in detail["layers"]] == third.layer_digests
    again = stack.cli("registry", "sync", "reg1")  # nothing left to repair
    assert "alice/f-sync" not in again.stdout, again.stdout


def _slow_body(data: bytes, sent: threading.Event, chunk: int = 16384):
    for start in range(0, len(data), chunk):
        if start >= len(data) // 2:
            sent.set()
            time.sleep(0.05)
        yield data[start : start + chunk]


def test_registry_killed_mid_upload(stack):
    """kill -9 while a chunk streams in: after the restart nothing partial is visible, the
    session either resumes consistently or is unknown, and the image can be pushed."""
    client = stack.client("reg1", "alice")
    _warm(client, "alice/f-upload")
    data = os.urandom(2 * 1024 * 1024)
    image = Image.random(layers=1, label="f-upload")
    location = client.start_upload("alice/f-upload")
    first = client.patch_chunk(location, data[:65536], 0)
    half_sent = threading.Event()
    outcome: dict = {}

    def stream() -> None:
        try:
            outcome["response"] = client.session.patch(
                first,
                data=_slow_body(data[65536:], half_sent),
                timeout=(3.05, 60),
                headers={
                    "Authorization": f"Bearer {client.last_token}",
                    "Content-Type": "application/octet-stream",
                },
            )
        except requests.RequestException as exc:
            outcome["error"] = exc

    sender = threading.Thread(target=stream, daemon=True)
    sender.start()
    assert half_sent.wait(30), "the upload never got going"
    registry = stack.registries["reg1"].service
    registry.kill()
    sender.join(30)
    assert not sender.is_alive()
    registry.start(timeout=60)

    assert "response" not in outcome or outcome["response"].status_code >= 400
    from wharf_protocol.digests import digest_bytes

    whole = str(digest_bytes(data))
    assert client.request("HEAD", f"/v2/alice/f-upload/blobs/{whole}").status_code == 404
    status = client.request("GET", first)
    if status.status_code == 204:  # the session survived: its range is what storage kept
        end = int(status.headers["Range"].split("-")[1])
        assert 65535 <= end < len(data)
        resumed = client.patch_chunk(first, data[end + 1 :], end + 1)
        done = client.request("PUT", resumed, params={"digest": whole})
        assert done.status_code == 201, done.text
    else:
        assert status.status_code == 404, status.text
        assert status.json()["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN"
        client.push_blob("alice/f-upload", data, chunk_size=512 * 1024)
    fetched = client.get_blob("alice/f-upload", whole)
    assert fetched.status_code == 200 and fetched.content == data
    assert client.push_image("alice/f-upload", "1", image) == image.digest
    tags = wait_for(
        lambda: stack.tags_at_index("alice/f-upload", "alice"),
        timeout=CATCH_UP,
        message="the Index to record alice/f-upload:1",
    )
    assert tags["1"]["digest"] == image.digest


def test_postgres_restarted_under_a_running_index(stack):
    """Requests after a PostgreSQL restart succeed (stale pooled connections replaced)."""

    def exercise() -> list[int]:
        return [
            stack.api("GET", "/api/v1/repositories/alice/f-pull", "alice").status_code,
            stack.token("reg1", "repository:alice/f-pull:pull", "alice").status_code,
            stack.api("GET", "/api/v1/search", "alice", params={"q": "f-pull"}).status_code,
            stack.api("GET", "/readyz").status_code,
        ]

    for _ in range(3):  # fill the pool with connections that the restart will break
        assert exercise() == [200, 200, 200, 200]
    stack.postgres.restart()
    for _ in range(3):
        assert exercise() == [200, 200, 200, 200]
    # And the registry's verification and events path works against the restarted database.
    client = stack.client("reg1", "alice")
    image = Image.random(layers=1, label="f-pg")
    client.push_image("alice/f-pg", "1", image)
    tags = wait_for(
        lambda: stack.tags_at_index("alice/f-pg", "alice"),
        timeout=CATCH_UP,
        message="the Index to record alice/f-pg:1 after the restart",
    )
    assert tags["1"]["digest"] == image.digest
