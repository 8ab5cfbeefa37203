"""Durable events: outbox written inside the request, delivered to a (fake) Index afterwards.

The background thread is off (``deliver_in_background=False``) except in the last test; the
tests drive ``Delivery.run_once``/``step`` themselves, which is also how a "crash" is
simulated: events written by one app instance are delivered by another on the same storage.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
import responses
from fake_index import CREDENTIAL, NAME, URL, FakeIndex, ids
from outbox_access import OUTBOX, delivery, drain, pending, pending_ids, pulls
from wharf_protocol import mediatypes
from wharf_registry.settings import Settings
from wharf_registry.storage import FilesystemDriver


@pytest.fixture
def settings():
    return Settings(
        storage_driver="filesystem",
        index_url=URL,
        index_name=NAME,
        index_credential=CREDENTIAL,
        notifications_interval=1.0,
        notifications_max_backoff=5.0,
    )


@pytest.fixture
def index():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeIndex(rsps)


@pytest.fixture
def instance(make_client, settings, driver, index, oci):
    """``(**settings overrides) -> OCI helper`` of a new app instance on the same storage."""

    def make(background: bool = False, **overrides):
        s = Settings(**{**settings.__dict__, **overrides})
        client = make_client(
            s, driver=driver, index=index.client(), deliver_in_background=background
        )
        return type(oci)(client)

    return make


def test_events_are_stored_before_the_answer_and_delivered_by_another_instance(
    instance, driver, index
):
    first = instance()
    digest, _ = first.push_image("team/app", "v1", layers=[b"one", b"two"])
    assert len(pending_ids(driver)) == 4  # 3 blobs, 1 manifest push: before their answers
    assert first.client.get("/v2/team/app/manifests/v1").status_code == 200
    assert first.client.get(f"/v2/team/app/manifests/{digest}").status_code == 200
    assert len(pending_ids(driver)) == 4  # pulls are counted, written by the next flush
    assert pulls(first).flush() == 2
    written = pending_ids(driver)
    assert len(written) == 6 and index.events == []  # the 2 pulls in one object, count 1 each
    assert len(pending(driver)) == 5
    second = instance()  # the first instance "crashed": nothing of it runs any more
    assert delivery(second).run_once() == 6
    assert ids(index.events) == written and pending(driver) == []
    push = index.events[3]
    assert (push.action, push.target.tag, push.target.digest) == ("push", "v1", digest)
    config, *layers = push.target.references
    assert config.media_type == mediatypes.OCI_CONFIG
    assert [(d.size, d.media_type) for d in layers] == [(3, mediatypes.OCI_LAYER_GZIP)] * 2
    by_tag, by_digest = index.events[4:]
    assert (by_tag.action, by_tag.target.tag, by_tag.target.digest) == ("pull", "v1", digest)
    assert (by_digest.target.tag, by_digest.target.digest) == ("", digest)
    assert delivery(second).run_once() == 0


def test_every_operation_emits_its_event(instance, driver, index):
    app = instance()
    digest, _ = app.push_image("team/app", "v1")
    blob = app.push_blob("team/app", b"extra")
    app.client.get(f"/v2/team/app/blobs/{blob}")  # a layer GET is not a pull event
    app.client.get("/v2/team/app/manifests/v1")
    pulls(app).flush()
    app.client.post(f"/v2/other/app/blobs/uploads/?mount={blob}&from=team/app")
    app.client.delete("/v2/team/app/manifests/v1")
    app.client.delete(f"/v2/team/app/manifests/{digest}")
    app.client.delete(f"/v2/other/app/blobs/{blob}")
    app.client.delete("/v2/_wharf/repositories/team/app")
    drain(app)
    seen = [
        (e.action, e.target.repository, e.target.tag or e.target.digest[:7])
        for e in index.events[2:]
    ]
    assert seen == [
        ("push", "team/app", "v1"),
        ("push", "team/app", "sha256:"),
        ("pull", "team/app", "v1"),
        ("mount", "other/app", "sha256:"),
        ("delete", "team/app", "v1"),
        ("delete", "team/app", "sha256:"),
        ("delete", "other/app", "sha256:"),
        ("delete", "team/app", ""),
    ]
    assert index.events[5].target.from_repository == "team/app"


def test_index_down_keeps_events_and_backs_off(instance, driver, index):
    app = instance()
    app.push_blob("team/app", b"data")
    index.down = True
    assert [delivery(app).step() for _ in range(4)] == [2.0, 4.0, 5.0, 5.0]
    assert len(pending(driver)) == 1 and index.events == []
    index.down = False
    assert delivery(app).step() == 1.0
    assert len(index.events) == 1 and pending(driver) == []
    assert delivery(app).failures == 0


def test_rejected_events_go_to_the_dead_letters_and_do_not_block_others(instance, driver, index):
    app = instance()
    index.reject = lambda events: any(e.target.repository == "poison/app" for e in events)
    for name in ("good/a", "poison/app", "good/b"):
        app.push_blob(name, name.encode())
    driver.put_content(f"{OUTBOX}/00000000T000000.000000Z-garbage.json", b"{not json")
    assert delivery(app).run_once() == 3
    assert [e.target.repository for e in index.events] == ["good/a", "good/b"]
    assert pending(driver) == []
    dead = [os.path.basename(p) for p in driver.list("/wharf/outbox-dead")]
    assert len(dead) == 2 and "00000000T000000.000000Z-garbage.json" in dead
    assert delivery(app).run_once() == 0


def test_a_failing_outbox_write_fails_the_request(make_client, settings, tmp_path, index):
    class FullOutbox(FilesystemDriver):
        def _put_content(self, path, content):
            if path.startswith("/wharf/"):
                raise OSError(28, "No space left on device")
            super()._put_content(path, content)

    client = make_client(
        settings,
        driver=FullOutbox(str(tmp_path / "full")),
        index=index.client(),
        deliver_in_background=False,
    )
    r = client.post(
        "/v2/team/app/blobs/uploads/?digest=sha256:"
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        data=b"hello",
    )
    assert r.status_code == 500 and r.get_json()["errors"][0]["code"] == "UNKNOWN"


def test_two_instances_delivering_at_once_lose_nothing(instance, driver, index):
    writer = instance()
    for n in range(9):
        writer.push_blob("team/app", f"blob {n}".encode())
    written = set(pending_ids(driver))
    first, second = delivery(instance(notifications_batch=2)), delivery(instance())
    first.lease_seconds = second.lease_seconds = 0.0  # no mutual exclusion: worst case
    errors = []

    def drain(d):
        try:
            for _ in range(50):
                if not pending(driver):
                    return
                d.run_once()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(d,)) for d in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and pending(driver) == []
    assert set(ids(index.events)) == written


def test_the_lease_lets_one_instance_deliver_at_a_time(instance, driver, index):
    writer = instance(notifications_batch=2)
    for n in range(5):
        writer.push_blob("team/app", f"blob {n}".encode())
    first, second = delivery(writer), delivery(instance(notifications_batch=2))
    assert first.run_once() == 2  # a full batch: it keeps the lease for the next one
    assert second.run_once() == 0
    assert first.run_once() == 2 and first.run_once() == 1  # drained: lease released
    writer.push_blob("team/app", b"later")
    assert second.run_once() == 1
    assert len(index.events) == 6 and len(set(ids(index.events))) == 6


def test_delivery_starts_in_the_background_on_the_first_request(instance, driver, index):
    app = instance(background=True, notifications_interval=0.05)
    try:
        app.push_blob("team/app", b"data")
        assert delivery(app)._pid == os.getpid()
        deadline = time.monotonic() + 10
        while not index.events and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [e.action for e in index.events] == ["push"]
    finally:
        delivery(app).stop()
        pulls(app).stop()


def test_pulls_reach_the_index_counted_by_the_background_flusher(instance, driver, index):
    app = instance(background=True, notifications_interval=0.05, events_pull_flush_interval=0.05)
    try:
        digest, _ = app.push_image("team/app", "v1")
        for ref in ["v1"] * 5 + [digest] * 2:
            assert app.client.get(f"/v2/team/app/manifests/{ref}").status_code == 200
        assert pulls(app)._pid == os.getpid()

        def counts():
            return {
                e.target.tag or e.target.digest: e.count for e in index.events if e.action == "pull"
            }

        def delivered():
            return counts() == {"v1": 5, digest: 2} and pending(driver) == []

        deadline = time.monotonic() + 10
        while not delivered() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert counts() == {"v1": 5, digest: 2} and pending(driver) == []
    finally:
        delivery(app).stop()
        pulls(app).stop()
