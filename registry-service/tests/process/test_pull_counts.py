"""Pull events through a real gunicorn registry: counted in memory per worker, in the outbox
within a flush interval, written at a graceful exit, and a manifest GET never waits for the
outbox's storage write.

The registry is configured with an Index nobody listens on: delivery keeps failing, so every
event stays in the outbox, where the tests read it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import requests
from registry_http import TIMEOUT, push_blob
from wharf_protocol import mediatypes
from wharf_protocol.events import load_envelope
from wharf_testing import free_port

HERE = Path(__file__).parent


def index_env(interval: float) -> dict[str, str]:
    return {
        "REGISTRY_INDEX_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "REGISTRY_INDEX_NAME": "reg1",
        "REGISTRY_INDEX_CREDENTIAL": "not-used-by-these-tests",
        "REGISTRY_NOTIFICATIONS_MAXBACKOFF": "5",
        "REGISTRY_EVENTS_PULL_FLUSH_INTERVAL": str(interval),
    }


def push_image(base: str, repo: str, tag: str) -> str:
    config = b'{"architecture":"amd64","os":"linux"}'
    layer = os.urandom(64)
    manifest = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": {
            "mediaType": mediatypes.OCI_CONFIG,
            "digest": push_blob(base, repo, config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": mediatypes.OCI_LAYER_GZIP,
                "digest": push_blob(base, repo, layer),
                "size": len(layer),
            }
        ],
    }
    response = requests.put(
        f"{base}/v2/{repo}/manifests/{tag}",
        data=json.dumps(manifest).encode(),
        headers={"Content-Type": mediatypes.OCI_MANIFEST},
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    return response.headers["Docker-Content-Digest"]


def pulls_in_outbox(root: Path) -> list:
    """The pull events stored in the outbox under the filesystem ``root``."""
    outbox = root / "wharf" / "outbox"
    found = []
    for path in sorted(outbox.glob("*.json")) if outbox.is_dir() else []:
        found += [e for e in load_envelope(path.read_bytes()) if e.action == "pull"]
    return found


def counted(root: Path) -> int:
    return sum(event.count for event in pulls_in_outbox(root))


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def get_manifests(base: str, repo: str, refs: list[str], timeout: float = TIMEOUT) -> None:
    with requests.Session() as session:
        for ref in refs:
            response = session.get(f"{base}/v2/{repo}/manifests/{ref}", timeout=timeout)
            assert response.status_code == 200, response.text


@pytest.fixture
def start_gated(service_factory, tmp_path):
    """``(root, gate, **env) -> GunicornService``: the registry of gated_outbox_app.py."""

    def start(root: Path, gate: Path, **extra: str):
        root.mkdir(parents=True, exist_ok=True)
        pythonpath = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
        env = {
            "REGISTRY_STORAGE": "filesystem",
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root),
            "REGISTRY_AUTH": "none",
            "REGISTRY_LOG_LEVEL": "WARNING",
            "WHARF_TEST_OUTBOX_GATE": str(gate),
            "PYTHONPATH": pythonpath,
            **extra,
        }
        return service_factory("gated_outbox_app:app", env, "registry-gated", workers=1, threads=8)

    return start


def test_manifest_gets_reach_the_outbox_as_counts_within_a_flush_interval(
    service_factory, tmp_path
):
    root = tmp_path / "storage"
    root.mkdir()
    env = {
        "REGISTRY_STORAGE": "filesystem",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root),
        "REGISTRY_AUTH": "none",
        "REGISTRY_LOG_LEVEL": "WARNING",
        **index_env(interval=1.0),
    }
    registry = service_factory("wharf_registry.wsgi:app", env, "registry", workers=2, threads=8)
    digest = push_image(registry.url, "team/app", "v1")
    assert counted(root) == 0
    get_manifests(registry.url, "team/app", ["v1"] * 40 + [digest] * 10)
    assert wait_for(lambda: counted(root) == 50, timeout=1.0 + 5.0), counted(root)
    pulls = pulls_in_outbox(root)
    by_tag = sum(e.count for e in pulls if e.target.tag == "v1")
    by_digest = sum(e.count for e in pulls if not e.target.tag and e.target.digest == digest)
    assert (by_tag, by_digest) == (40, 10)
    assert len(pulls) < 25  # counted per target and window, not one event per GET
    assert {e.target.digest for e in pulls} == {digest}
    time.sleep(1.5)  # proves a negative: later flushes write nothing more
    assert counted(root) == 50


def test_a_graceful_exit_writes_the_counted_pulls(start_registry, tmp_path):
    root = tmp_path / "storage"
    registry = start_registry(root, **index_env(interval=3600))
    push_image(registry.url, "team/app", "v1")
    get_manifests(registry.url, "team/app", ["v1"] * 25)
    assert counted(root) == 0  # a flush interval of an hour: nothing written yet
    registry.stop()  # SIGTERM: gunicorn's graceful exit runs the worker's atexit flush
    assert counted(root) == 25


def test_a_manifest_get_does_not_wait_for_the_outbox_write(start_gated, tmp_path):
    root, gate = tmp_path / "storage", tmp_path / "gate"
    registry = start_gated(root, gate, **index_env(interval=0.2))
    push_image(registry.url, "team/app", "v1")  # pushes write the outbox: gate open
    gate.touch()
    get_manifests(registry.url, "team/app", ["v1"])
    waiting = Path(f"{gate}.waiting")
    assert wait_for(waiting.exists, timeout=10.0)  # the flusher is stuck in put_content
    started = time.monotonic()
    get_manifests(registry.url, "team/app", ["v1"] * 20, timeout=5.0)
    assert time.monotonic() - started < 10.0
    assert counted(root) == 0
    gate.unlink()
    assert wait_for(lambda: counted(root) == 21, timeout=10.0), counted(root)
