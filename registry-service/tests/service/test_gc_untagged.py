"""Garbage collection deleting untagged manifests (``delete_untagged``), on disk and on S3.

What a tag keeps (directly, as a tagged index's child, as a referrer of a live subject) stays;
so does anything used within the grace window (2 s here, as in test_gc.py); every other
revision is deleted like a manifest DELETE (its link and referrer entry, a ``delete`` event
by the system actor) and its blobs go in the same run's sweep.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from wharf_protocol import mediatypes
from wharf_protocol.digests import Digest, digest_bytes
from wharf_protocol.events import DELETE
from wharf_registry.content import paths
from wharf_registry.events import Outbox
from wharf_registry.events.emitter import outbox_emitter
from wharf_registry.gc import GC_ACTOR, Collector, GcOptions
from wharf_registry.settings import Settings
from wharf_registry.storage import PathNotFound

GRACE = 2.0
AGE = GRACE + 1.5  # S3 mtimes are whole seconds
OPTIONS = GcOptions(
    delete_untagged=True,
    grace=GRACE,
    uploads_older_than=3600,
    touch_after=0.5,
    push_deadline=0.5,
    clock_skew=0.5,
)


@pytest.fixture
def driver(store):
    """The app of the ``oci`` fixture (tests/conftest.py) serves ``store``."""
    return store


@pytest.fixture
def settings() -> Settings:
    return Settings(
        storage_driver="inmemory", gc_touch_after=OPTIONS.touch_after, gc_push_deadline=5.0
    )


def collect(store, events=None, **changes):
    options = GcOptions(**{**OPTIONS.__dict__, **changes})
    return Collector(store, options, events=events).run()


def age() -> None:
    time.sleep(AGE)


def has_blob(store, data: bytes) -> bool:
    try:
        store.stat(paths.blob_data(digest_bytes(data)))
    except PathNotFound:
        return False
    return True


def status(oci, name: str, ref: str) -> int:
    return oci.client.get(f"/v2/{name}/manifests/{ref}").status_code


def descriptor(digest: str, body: bytes) -> dict:
    return {"mediaType": mediatypes.OCI_MANIFEST, "digest": digest, "size": len(body)}


def index_of(*children: tuple[str, bytes]) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_INDEX,
        "manifests": [descriptor(d, b) for d, b in children],
    }
    return json.dumps(doc).encode()


def push_by_digest(oci, name: str, body: bytes) -> str:
    digest = str(digest_bytes(body))
    oci.put_manifest(name, digest, body)
    return digest


def test_an_old_untagged_manifest_is_deleted_and_its_blobs_swept(store, oci, sink):
    first, first_body = oci.push_image("u/app", "v1", layers=[b"first-only", b"shared"])
    oci.push_image("u/app", "v1", layers=[b"second-only", b"shared"])  # v1 moves on
    by_digest = push_by_digest(oci, "u/app", oci.image("u/app", layers=[b"by-digest-only"]))
    age()
    summary = collect(store)
    assert summary.manifests_deleted == 2
    for gone in (first, by_digest):
        assert status(oci, "u/app", gone) == 404
    assert status(oci, "u/app", "v1") == 200
    for freed in (b"first-only", b"by-digest-only", first_body):
        assert not has_blob(store, freed), freed
    for kept in (b"second-only", b"shared"):
        assert has_blob(store, kept)
    assert summary.blobs_deleted == 4  # two layers and the two manifest bodies (same run)
    tags = oci.client.get("/v2/u/app/tags/list").get_json()["tags"]
    assert tags == ["v1"]


def test_a_tagged_index_keeps_its_children_and_a_live_subject_its_referrers(store, oci):
    child, child_body = oci.push_image("multi/app", "tmp", layers=[b"child-layer"])
    oci.client.delete("/v2/multi/app/manifests/tmp")  # the tag only: the child is untagged
    index = index_of((child, child_body))
    oci.put_manifest("multi/app", "latest", index)
    subject = descriptor(child, child_body)
    signature = oci.image(
        "multi/app", layers=[b"signature"], config_type="application/vnd.test+json", subject=subject
    )
    sig = push_by_digest(oci, "multi/app", signature)
    sig_of_sig = oci.image(  # a referrer of a referrer: live through its live subject
        "multi/app",
        layers=[b"countersignature"],
        config_type="application/vnd.test+json",
        subject=descriptor(sig, signature),
    )
    countersig = push_by_digest(oci, "multi/app", sig_of_sig)
    orphan, orphan_body = oci.push_image("multi/app", "gone", layers=[b"orphan-layer"])
    oci.client.delete("/v2/multi/app/manifests/gone")
    orphan_sig = oci.image(
        "multi/app",
        layers=[b"orphan-signature"],
        config_type="application/vnd.test+json",
        subject=descriptor(orphan, orphan_body),
    )
    orphan_sig_digest = push_by_digest(oci, "multi/app", orphan_sig)
    age()
    summary = collect(store)
    for kept in (child, sig, countersig, "latest"):
        assert status(oci, "multi/app", kept) == 200, kept
    for kept in (b"child-layer", b"signature", b"countersignature", child_body, index):
        assert has_blob(store, kept)
    assert status(oci, "multi/app", orphan) == 404
    assert status(oci, "multi/app", orphan_sig_digest) == 404  # its subject is not live
    assert summary.manifests_deleted == 2
    referrers = oci.client.get(f"/v2/multi/app/referrers/{orphan}").get_json()["manifests"]
    assert referrers == []  # deleted as a DELETE does: the referrer entry too
    referrers = oci.client.get(f"/v2/multi/app/referrers/{child}").get_json()["manifests"]
    assert [r["digest"] for r in referrers] == [sig]


def test_manifests_used_within_the_grace_window_are_kept(store, oci):
    """Children pushed long ago and an index pushed by digest just now (a multi-platform
    push in progress): the index is young, and a young revision keeps what it names."""
    one, one_body = oci.push_image("young/app", "a", layers=[b"platform-a"])
    two, two_body = oci.push_image("young/app", "b", layers=[b"platform-b"])
    old = push_by_digest(oci, "young/app", oci.image("young/app", layers=[b"really-old"]))
    for tag in ("a", "b"):
        oci.client.delete(f"/v2/young/app/manifests/{tag}")
    age()
    index = push_by_digest(oci, "young/app", index_of((one, one_body), (two, two_body)))
    fresh = push_by_digest(oci, "young/app", oci.image("young/app", layers=[b"just-pushed"]))
    summary = collect(store)
    for kept in (index, one, two, fresh):
        assert status(oci, "young/app", kept) == 200, kept
    assert status(oci, "young/app", old) == 404
    assert summary.manifests_deleted == 1
    assert has_blob(store, b"platform-a") and has_blob(store, b"just-pushed")
    assert not has_blob(store, b"really-old")


def test_a_dry_run_deletes_nothing_and_counts_what_it_would(store, oci, sink):
    old, body = oci.push_image("dry/app", "v1", layers=[b"would-go"])
    oci.push_image("dry/app", "v1", layers=[b"stays"])
    age()
    summary = collect(store, dry_run=True)
    assert summary.dry_run and summary.manifests_deleted == 1
    assert summary.blobs_deleted == 2  # its layer and its body would follow it
    assert status(oci, "dry/app", old) == 200
    assert has_blob(store, b"would-go") and has_blob(store, body)
    last = json.loads(store.get_content(paths.GC_LAST_RUN))
    assert last["manifests_deleted"] == 1 and last["dry_run"] is True
    assert [a for a in sink.actions() if a[0] == DELETE] == []


def test_off_by_default_every_revision_is_kept(store, oci):
    old, _ = oci.push_image("off/app", "v1", layers=[b"kept-without-the-option"])
    oci.push_image("off/app", "v1", layers=[b"current"])
    age()
    assert GcOptions().delete_untagged is False
    summary = collect(store, delete_untagged=False)
    assert summary.manifests_deleted == 0
    assert status(oci, "off/app", old) == 200 and has_blob(store, b"kept-without-the-option")


def test_each_deletion_writes_the_manifest_delete_event_to_the_outbox(store, oci, sink):
    """The same event a DELETE by digest emits, with the system as its actor, in the
    durable outbox the serving registry delivers to the Index and endpoints."""
    api, _ = oci.push_image("ev/app", "v1", layers=[b"api-deleted"])
    assert oci.client.delete(f"/v2/ev/app/manifests/{api}").status_code == 202
    old, _ = oci.push_image("ev/app", "v1", layers=[b"gc-deleted"])
    oci.push_image("ev/app", "v1", layers=[b"current"])
    age()
    settings = Settings(
        storage_driver="inmemory",
        notifications_enabled=True,
        index_url="http://127.0.0.1:9/",
        index_name="registry",
        index_credential="x",
    )
    collect(store, events=outbox_emitter(settings, store))
    outbox = Outbox(store)
    events = [e for path in outbox.pending(100) for e in outbox.load(path)]
    assert [(e.action, e.target.repository, e.target.digest) for e in events] == [
        (DELETE, "ev/app", old)
    ]
    (event,) = events
    assert event.actor.name == GC_ACTOR
    (api_event,) = [e for e in sink.events if e.action == DELETE]
    assert (api_event.target.digest, api_event.target.tag) == (api, "")
    for field in ("media_type", "size", "tag", "url", "references", "from_repository"):
        assert getattr(event.target, field) == getattr(api_event.target, field), field


def test_without_consumers_the_command_writes_no_event(store, oci):
    oci.push_image("quiet/app", "v1", layers=[b"quiet-old"])
    oci.push_image("quiet/app", "v1", layers=[b"quiet-new"])
    age()
    assert collect(store, events=outbox_emitter(Settings(), store)).manifests_deleted == 1
    assert Outbox(store).pending(10) == []


def test_an_index_push_waiting_on_a_child_being_deleted_is_refused(store, oci):
    """A collection holds the child's condemned marker and deletes its revision meanwhile:
    the index push must not link an index whose child is gone."""
    child, child_body = oci.push_image("idx/app", "tmp", layers=[b"idx-child"])
    oci.client.delete("/v2/idx/app/manifests/tmp")
    age()  # the child's data is stale: the index push touches it and checks its marker
    digest = Digest.parse(child)
    store.put_content(paths.condemned_marker(digest), b"")

    def collection_deletes_the_child():  # while the push waits on the marker
        time.sleep(0.5)
        store.delete(paths.revision_dir("idx/app", digest))
        store.delete(paths.condemned_marker(digest))

    collector = threading.Thread(target=collection_deletes_the_child)
    collector.start()
    r = oci.client.put(
        "/v2/idx/app/manifests/latest",
        data=index_of((child, child_body)),
        headers={"Content-Type": mediatypes.OCI_INDEX},
    )
    collector.join()
    assert oci.codes(r) == ["MANIFEST_BLOB_UNKNOWN"]
    assert status(oci, "idx/app", "latest") == 404


def test_a_tag_pushed_after_the_tags_were_read_keeps_its_manifest(store, oci):
    """The collector reads the tags, then the manifest is tagged: the push rewrote its body,
    so the collector's reading of its last use keeps it."""
    old, body = oci.push_image("late/app", "v1", layers=[b"late-layer"])
    oci.push_image("late/app", "v1", layers=[b"other"])
    age()

    class TagPushedAfterReading(Collector):
        def _tagged(self, name):
            found = super()._tagged(name)
            if name == "late/app":
                oci.put_manifest("late/app", "v2", body)
            return found

    TagPushedAfterReading(store, OPTIONS).run()
    assert status(oci, "late/app", "v2") == 200
    assert status(oci, "late/app", old) == 200 and has_blob(store, b"late-layer")
