"""Garbage collection (gc.py): what it keeps, what it frees, on disk and on S3 (moto).

Blobs are aged by waiting past a 2 s grace window (the collector compares storage mtimes,
which S3 keeps to the second, so an mtime cannot be set back there); every other window is
scaled down with it, as the settings allow for tests.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from wharf_protocol import mediatypes
from wharf_protocol.digests import Digest, digest_bytes
from wharf_registry.content import paths
from wharf_registry.gc import Collector, GcOptions, GcRefused, MarkedSet
from wharf_registry.settings import Settings
from wharf_registry.storage import FilesystemDriver, PathNotFound

GRACE = 2.0
AGE = GRACE + 1.5  # S3 mtimes are whole seconds
OPTIONS = GcOptions(
    grace=GRACE, uploads_older_than=GRACE, touch_after=0.5, push_deadline=0.5, clock_skew=0.5
)
SUMMARY_KEYS = {
    "started_at",
    "finished_at",
    "dry_run",
    "blobs_deleted",
    "manifests_deleted",
    "bytes_freed",
    "uploads_purged",
    "blobs_marked",
}


@pytest.fixture
def driver(store):
    """The app of the ``oci`` fixture (tests/conftest.py) serves ``store``."""
    return store


@pytest.fixture
def settings() -> Settings:
    return Settings(
        storage_driver="inmemory", gc_touch_after=OPTIONS.touch_after, gc_push_deadline=5.0
    )


def codes(response) -> list[str]:
    return [e["code"] for e in response.get_json()["errors"]]


def collect(store, **changes) -> dict:
    options = GcOptions(**{**OPTIONS.__dict__, **changes})
    Collector(store, options).run()
    return json.loads(store.get_content(paths.GC_LAST_RUN))


def has_blob(store, data: bytes) -> bool:
    try:
        store.stat(paths.blob_data(digest_bytes(data)))
    except PathNotFound:
        return False
    return True


def age() -> None:
    """Let everything written so far fall out of the grace window."""
    time.sleep(AGE)


def test_tagged_untagged_shared_and_deleted(store, oci):
    digest, _ = oci.push_image("team/app", "v1", layers=[b"shared", b"only-v1"])
    oci.push_image("team/app", "v2", layers=[b"untagged-later"])
    oci.push_image("team/app", "v2", layers=[b"v2-now"])  # v2's first revision: untagged
    oci.push_image("other/app", "v1", layers=[b"shared", b"gone-with-repo"])
    oci.push_blob("team/app", b"never-referenced")
    assert oci.client.delete(f"/v2/team/app/manifests/{digest}").status_code == 202
    assert oci.client.delete("/v2/_wharf/repositories/other/app").status_code == 202
    age()
    summary = collect(store)
    assert set(summary) == SUMMARY_KEYS and summary["dry_run"] is False
    for kept in (b"untagged-later", b"v2-now"):  # every revision is kept without an option
        assert has_blob(store, kept)
    for freed in (b"only-v1", b"shared", b"gone-with-repo", b"never-referenced"):
        assert not has_blob(store, freed), freed
    assert summary["blobs_deleted"] >= 4 and summary["bytes_freed"] >= len(b"only-v1shared")
    assert oci.client.get("/v2/team/app/manifests/v2").status_code == 200


def test_shared_blob_kept_while_any_repository_references_it(store, oci):
    oci.push_image("a/one", "v1", layers=[b"common"])
    oci.push_image("b/two", "v1", layers=[b"common"])
    assert oci.client.delete("/v2/_wharf/repositories/a/one").status_code == 202
    age()
    collect(store)
    assert has_blob(store, b"common")
    assert oci.client.get("/v2/b/two/blobs/" + str(digest_bytes(b"common"))).status_code == 200


def test_index_children_and_referrers_are_kept(store, oci):
    child, body = oci.push_image("multi", "amd64-only", layers=[b"child-layer"])
    oci.client.delete("/v2/multi/manifests/amd64-only")  # the tag only: the revision stays
    index = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_INDEX,
        "manifests": [{"mediaType": mediatypes.OCI_MANIFEST, "digest": child, "size": len(body)}],
    }
    oci.put_manifest("multi", "latest", json.dumps(index).encode())
    referrer = oci.image(
        "multi",
        layers=[b"signature"],
        config_type="application/vnd.test+json",
        subject={"mediaType": mediatypes.OCI_MANIFEST, "digest": child, "size": len(body)},
    )
    oci.put_manifest("multi", "sig", referrer)
    age()
    collect(store)
    for kept in (b"child-layer", b"signature", body):
        assert has_blob(store, kept)
    assert oci.client.get(f"/v2/multi/manifests/{child}").status_code == 200


def test_dry_run_frees_nothing_and_says_what_it_would(store, oci):
    oci.push_blob("dry/run", b"unreferenced")
    age()
    summary = collect(store, dry_run=True)
    assert summary["dry_run"] is True and summary["blobs_deleted"] == 1
    assert summary["bytes_freed"] == len(b"unreferenced")
    assert has_blob(store, b"unreferenced")


def test_grace_keeps_a_fresh_unreferenced_blob(store, oci):
    oci.push_blob("fresh/one", b"old-unreferenced")
    age()
    oci.push_blob("fresh/one", b"fresh-unreferenced")
    summary = collect(store)
    assert has_blob(store, b"fresh-unreferenced")
    assert not has_blob(store, b"old-unreferenced")
    assert summary["blobs_deleted"] == 1


def test_a_reused_old_blob_is_touched_and_survives(store, oci):
    """A manifest pushed now over a blob uploaded long ago: the push touches it."""
    oci.push_blob("reuse/app", b"old-layer")
    config = b'{"architecture":"amd64","os":"linux"}'
    oci.push_blob("reuse/app", config)
    age()
    collect(store)  # unreferenced and old: both go
    assert not has_blob(store, b"old-layer")
    oci.push_blob("reuse/app", b"old-layer")
    oci.push_blob("reuse/app", config)
    age()
    body = oci.image("reuse/app", layers=[b"old-layer"])  # re-uploads: touched, now fresh
    time.sleep(OPTIONS.touch_after)
    oci.put_manifest("reuse/app", "v1", body)
    assert store.stat(paths.touch_marker(digest_bytes(b"old-layer")))
    collect(store)
    assert has_blob(store, b"old-layer")


def test_upload_sessions_are_purged_by_age(store, oci):
    old = oci.start("up/load")
    oci.client.patch(old, data=b"partial")
    orphan = f"{paths.repository('up/load')}/_uploads/00000000-0000-4000-8000-000000000000/data"
    store.put_content(orphan, b"no startedat")
    age()
    fresh = oci.start("up/load")
    summary = collect(store)
    assert summary["uploads_purged"] == 2
    assert [p.rsplit("/", 1)[-1] for p in oci.uploads("up/load")] == [fresh.rsplit("/", 1)[-1]]
    assert oci.client.get(fresh).status_code == 204
    assert oci.client.get(old).status_code == 404


def test_condemned_blob_is_reported_unknown_to_a_push_after_the_sweep(store, oci):
    """A push that finds a condemned marker waits it out and then sees the blob gone."""
    body = oci.image("cond/app", layers=[b"to-be-condemned"])
    layer = digest_bytes(b"to-be-condemned")
    age()
    store.put_content(paths.condemned_marker(layer), b"")

    def sweep_decides_to_delete():  # while the push waits on the marker
        time.sleep(0.5)
        store.delete(paths.blob_dir(layer))
        store.delete(paths.condemned_marker(layer))

    sweeper = threading.Thread(target=sweep_decides_to_delete)
    sweeper.start()
    r = oci.client.put(
        "/v2/cond/app/manifests/v1", data=body, headers={"Content-Type": mediatypes.OCI_MANIFEST}
    )
    sweeper.join()
    assert codes(r) == ["MANIFEST_BLOB_UNKNOWN"]
    assert oci.client.get("/v2/cond/app/manifests/v1").status_code == 404


def test_a_condemned_marker_that_stays_refuses_the_push_with_503(store, oci):
    body = oci.image("held/app", layers=[b"held-layer"])
    age()
    store.put_content(paths.condemned_marker(digest_bytes(b"held-layer")), b"")
    r = oci.client.put(
        "/v2/held/app/manifests/v1", data=body, headers={"Content-Type": mediatypes.OCI_MANIFEST}
    )
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert codes(r) == ["UNKNOWN"]
    assert oci.client.get("/v2/held/app/manifests/v1").status_code == 404


def test_grace_too_short_is_refused_before_anything_is_written(tmp_path):
    store = FilesystemDriver(str(tmp_path / "s"))
    with pytest.raises(GcRefused, match="grace"):
        Collector(store, GcOptions(grace=600)).run()
    with pytest.raises(PathNotFound):
        store.stat(paths.GC_RUN)


def test_a_held_lease_refuses_a_second_collection(tmp_path):
    store = FilesystemDriver(str(tmp_path / "s"))
    lease = {"owner": "someone-else", "expires": time.time() + 60}
    store.put_content(paths.GC_LEASE, json.dumps(lease).encode())
    with pytest.raises(GcRefused, match="lease"):
        Collector(store, OPTIONS).run()


def test_marked_set_is_exact_on_prefixes_and_merges_batches():
    marked = MarkedSet(batch=3)
    digests = [digest_bytes(str(i).encode()) for i in range(20)]
    for d in digests[:10]:
        marked.add(d)
        marked.add(d)
    assert len(marked) == 10
    assert all(d in marked for d in digests[:10])
    assert not any(d in marked for d in digests[10:])
    collision = Digest.parse("sha256:" + digests[0].hex[:16] + "0" * 48)
    assert collision in marked  # a shared prefix keeps, never deletes


def test_the_schedule_collects_inside_the_serving_registry(tmp_path, make_client):
    store = FilesystemDriver(str(tmp_path / "storage"))
    settings = Settings(
        storage_driver="inmemory",
        gc_interval=0.2,
        gc_grace=OPTIONS.grace,
        gc_touch_after=OPTIONS.touch_after,
        gc_push_deadline=OPTIONS.push_deadline,
        gc_clock_skew=OPTIONS.clock_skew,
    )
    client = make_client(settings, driver=store)
    blob = b"scheduled-away"
    r = client.post(f"/v2/sched/app/blobs/uploads/?digest={digest_bytes(blob)}", data=blob)
    assert r.status_code == 201  # the first request started the schedule
    schedule = client.application.extensions["gc_schedule"]
    try:
        deadline = time.monotonic() + 60
        while has_blob(store, b"scheduled-away") and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        schedule.stop()
    assert not has_blob(store, b"scheduled-away")
    assert json.loads(store.get_content(paths.GC_LAST_RUN))["blobs_deleted"] >= 1
