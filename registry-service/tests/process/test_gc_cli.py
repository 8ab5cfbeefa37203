"""``wharf-registry gc`` as a process: the serving configuration, dry run, summary, refusals,
``--delete-untagged`` and its events."""

from __future__ import annotations

import json
import os
import subprocess
import time

from serve_process import cli, registry_env
from wharf_protocol import mediatypes
from wharf_protocol.digests import digest_bytes
from wharf_registry.content import paths
from wharf_registry.events import Outbox
from wharf_registry.storage import FilesystemDriver


def run(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        cli("gc", *args), env=env, capture_output=True, text=True, timeout=120, check=False
    )


def old_blob(driver: FilesystemDriver, data: bytes) -> str:
    """Store an unreferenced blob and date it two hours back (the filesystem allows it)."""
    path = paths.blob_data(digest_bytes(data))
    driver.put_content(path, data)
    then = time.time() - 7200
    os.utime(os.path.join(driver.root, path.lstrip("/")), (then, then))
    return path


def test_gc_frees_an_old_unreferenced_blob_after_a_dry_run(tmp_path):
    env = registry_env(tmp_path)
    driver = FilesystemDriver(env["REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY"])
    path = old_blob(driver, b"x" * 1000)
    dry = run(env, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would free 1 blobs" in dry.stdout and "1000 B" in dry.stdout
    assert driver.stat(path).size == 1000
    assert dry.stderr == ""  # progress only on a terminal
    real = run(env)
    assert real.returncode == 0, real.stderr
    assert real.stdout.startswith("freed 1 blobs, 0 manifests, 1000 B")
    assert not os.path.exists(os.path.join(driver.root, path.lstrip("/")))
    summary = json.loads(driver.get_content(paths.GC_LAST_RUN))
    assert set(summary) == {
        "started_at",
        "finished_at",
        "dry_run",
        "blobs_deleted",
        "manifests_deleted",
        "bytes_freed",
        "uploads_purged",
        "blobs_marked",
    }
    assert summary["blobs_deleted"] == 1 and summary["bytes_freed"] == 1000


def test_gc_reads_the_configuration_file(tmp_path):
    root = tmp_path / "from-file"
    (tmp_path / "config.yml").write_text(f"storage:\n  filesystem:\n    rootdirectory: {root}\n")
    env = registry_env(tmp_path)
    del env["REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY"]
    driver = FilesystemDriver(str(root))
    path = old_blob(driver, b"in the file's storage")
    result = run(env, "--config", str(tmp_path / "config.yml"))
    assert result.returncode == 0, result.stderr
    assert not os.path.exists(os.path.join(driver.root, path.lstrip("/")))


def test_unsafe_grace_and_bad_durations_are_refused(tmp_path):
    env = registry_env(tmp_path)
    short = run(env, "--grace", "10m")  # not above touch-after 30m + 60 s + 5 m
    assert short.returncode == 2 and "grace" in short.stderr and "Traceback" not in short.stderr
    bad = run(env, "--grace", "soon")
    assert bad.returncode == 2 and "duration" in bad.stderr
    env["REGISTRY_GC_TOUCH_AFTER"] = "forever"
    setting = run(env)
    assert setting.returncode == 2 and "REGISTRY_GC_TOUCH_AFTER" in setting.stderr


def test_delete_untagged_deletes_an_old_untagged_manifest_and_announces_it(tmp_path):
    env = registry_env(
        tmp_path,
        REGISTRY_NOTIFICATIONS_ENDPOINTS='[{"name": "hook", "url": "http://127.0.0.1:9/"}]',
    )
    driver = FilesystemDriver(env["REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY"])
    body = json.dumps({"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": []})
    digest = digest_bytes(body.encode())
    old_blob(driver, body.encode())
    link = paths.revision_link("cli/app", digest)
    driver.put_content(link, str(digest).encode())
    then = time.time() - 7200
    os.utime(os.path.join(driver.root, link.lstrip("/")), (then, then))
    dry = run(env, "--delete-untagged", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would free 1 blobs, 1 manifests" in dry.stdout
    assert driver.stat(link)
    assert Outbox(driver).pending(10) == []
    real = run(env, "--delete-untagged")
    assert real.returncode == 0, real.stderr
    assert real.stdout.startswith("freed 1 blobs, 1 manifests")
    assert not os.path.exists(os.path.join(driver.root, link.lstrip("/")))
    outbox = Outbox(driver)
    events = [e for path in outbox.pending(10) for e in outbox.load(path)]
    assert [(e.action, e.target.repository, e.target.digest, e.actor.name) for e in events] == [
        ("delete", "cli/app", str(digest), "system")
    ]
