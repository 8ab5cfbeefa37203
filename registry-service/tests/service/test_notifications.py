"""Notification endpoints: the outbox delivered to real HTTP receivers, each at its position.

Receivers are real HTTP servers on 127.0.0.1 (``endpoint_receiver``: wharf_testing.receiver);
the Index, when present, is the fake behind ``responses`` (loopback passes through to the
receivers). Background threads are off: the tests drive ``Delivery.step``/``run_once`` (one
pass of every consumer) or one lane, and a restart is a new app on the same storage.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
import responses
from endpoint_receiver import EndpointReceiver, summary
from fake_index import CREDENTIAL, NAME, URL, FakeIndex, ids
from outbox_access import delivery, drain, pending, pending_ids, pulls
from wharf_protocol import mediatypes
from wharf_protocol.events import EVENTS_MEDIA_TYPE, GC, Target, new_event
from wharf_registry.endpoints_config import EndpointConfig
from wharf_registry.events.endpoint import EndpointConsumer
from wharf_registry.events.wharf_events import (
    gc_summary,
    record_gc_run,
    record_quota_refusal,
    wharf_event,
)
from wharf_registry.settings import Settings
from wharf_registry.storage import FilesystemDriver, create_driver
from wharf_testing.receiver import Answer

POSITIONS = "/wharf/outbox-positions"


@pytest.fixture(params=["filesystem", "s3"])
def store(request, tmp_path):
    """Filesystem, or S3 on the moto server: the positions and the outbox live there."""
    if request.param == "filesystem":
        return FilesystemDriver(str(tmp_path / "storage"))
    server = request.getfixturevalue("s3_server")
    return create_driver(
        "s3",
        {
            "bucket": request.getfixturevalue("s3_bucket"),
            "endpoint_url": server.endpoint_url,
            "region": server.region,
        },
    )


@pytest.fixture
def receivers():
    made: list[EndpointReceiver] = []

    def make(up: bool = True) -> EndpointReceiver:
        receiver = EndpointReceiver()
        made.append(receiver)
        return receiver.start() if up else receiver

    yield make
    for receiver in made:
        receiver.stop()


@pytest.fixture
def index():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")
        yield FakeIndex(rsps)


@pytest.fixture
def instance(make_client, driver, oci, index):
    """``(*endpoints, with_index=False, driver=None) -> OCI helper``: a new app (a restart
    when called again) on the same storage."""

    def make(*endpoints: EndpointConfig, with_index: bool = False, store=None, background=False):
        index_settings = (
            {"index_url": URL, "index_name": NAME, "index_credential": CREDENTIAL}
            if with_index
            else {}
        )
        settings = Settings(
            storage_driver="filesystem",
            notifications_endpoints=endpoints,
            notifications_max_backoff=5.0,
            notifications_interval=0.05,
            **index_settings,
        )
        client = make_client(
            settings,
            driver=store or driver,
            index=index.client() if with_index else None,
            deliver_in_background=background,
        )
        return type(oci)(client)

    return make


def endpoint(receiver: EndpointReceiver, name: str, **kw) -> EndpointConfig:
    return EndpointConfig(name=name, url=receiver.endpoint_url, **kw)


def test_a_registry_without_index_notifies_an_endpoint_of_pushes_pulls_and_deletes(
    instance, receivers, driver
):
    receiver = receivers()
    headers = {"Authorization": ("Bearer t0ken",), "X-Many": ("one", "two")}
    app = instance(endpoint(receiver, "hook", headers=headers))
    digest, _ = app.push_image("team/app", "v1", layers=[b"one", b"two"])
    assert app.client.get("/v2/team/app/manifests/v1").status_code == 200
    pulls(app).flush()  # pulls are counted, then written by the flusher (events/pull_counter)
    assert app.client.delete(f"/v2/team/app/manifests/{digest}").status_code == 202
    assert len(pending_ids(driver)) == 6  # written before the answers, delivered afterwards
    drain(app)
    assert [(a, r) for a, r, _ in summary(receiver.events)] == [
        *[("push", "team/app")] * 4,
        ("pull", "team/app"),
        ("delete", "team/app"),
    ]
    config, *layers = receiver.events[:3]
    assert {e.target.media_type for e in receiver.events[:3]} == {"application/octet-stream"}
    push, pull, delete = receiver.events[3:]
    assert (push.target.tag, push.target.digest, push.target.media_type) == (
        "v1",
        digest,
        mediatypes.OCI_MANIFEST,
    )
    assert [d.digest for d in push.target.references] == [config.target.digest] + [
        e.target.digest for e in layers
    ]
    assert (pull.target.tag, pull.target.digest) == ("v1", digest)
    assert (delete.target.digest, delete.target.tag) == (digest, "")
    sent = receiver.received[0].headers
    assert sent["content-type"] == sent["accept"] == EVENTS_MEDIA_TYPE
    assert sent["authorization"] == "Bearer t0ken" and sent["x-many"] == "one, two"
    assert receiver.received[0].path == "/events"
    assert pending(driver) == []  # the only consumer: deleted once it has them
    assert delivery(app).run_once() == 0


def test_a_down_endpoint_holds_back_neither_the_index_nor_the_others(
    instance, receivers, store, index
):
    up, down = receivers(), receivers(up=False)
    app = instance(endpoint(up, "up"), endpoint(down, "down"), with_index=True, store=store)
    for n in range(3):
        app.push_blob("team/app", f"blob {n}".encode())
    first = pending_ids(store)
    for _ in range(3):
        delivery(app).step()
    assert ids(up.events) == first and ids(index.events) == first and down.received == []
    assert len(pending(store)) == 3  # kept: "down" has not delivered them
    app.push_blob("team/app", b"later")
    for _ in range(2):
        delivery(app).step()
    written = first + [pending_ids(store)[-1]]
    assert ids(up.events) == written and ids(index.events) == written
    assert len(pending(store)) == 4
    stored = json.loads(store.get_content(f"{POSITIONS}/endpoint-up.json"))
    assert len(stored["done"]) == 4 and stored["horizon"] < min(stored["done"])

    down.start()  # it comes back: everything it missed, in order, from its position
    drain(app)
    assert ids(down.events) == written
    assert ids(up.events) == written and ids(index.events) == written  # nothing twice
    assert pending(store) == []  # every consumer has them: deleted


def test_positions_survive_a_restart_and_nothing_is_lost(instance, receivers, driver):
    up, down = receivers(), receivers(up=False)
    endpoints = (endpoint(up, "up"), endpoint(down, "down"))
    before = instance(*endpoints)
    before.push_image("team/app", "v1")
    delivery(before).step()
    written = pending_ids(driver)
    assert ids(up.events) == written and down.received == []

    after = instance(*endpoints)  # the registry restarted: a new process on the same storage
    after.client.get("/v2/team/app/manifests/v1")
    written = pending_ids(driver)
    down.start()
    drain(after)
    assert ids(up.events) == written  # resumed from its stored position: no resend
    assert ids(down.events) == written  # everything, in order
    assert pending(driver) == []


def test_ignored_actions_and_media_types_are_filtered_per_endpoint(instance, receivers, driver):
    everything, filtered = receivers(), receivers()
    app = instance(
        endpoint(everything, "all"),
        endpoint(
            filtered,
            "manifests-only",
            ignored_actions=frozenset({"pull"}),
            ignored_media_types=frozenset({"application/octet-stream"}),
        ),
    )
    app.push_image("team/app", "v1")
    app.client.get("/v2/team/app/manifests/v1")
    pulls(app).flush()
    drain(app)
    assert [e.action for e in everything.events] == ["push", "push", "push", "pull"]
    assert summary(filtered.events) == [("push", "team/app", "v1")]
    posts = len(filtered.received)
    app.client.get("/v2/team/app/manifests/v1")  # only ignored events: nothing is sent
    pulls(app).flush()
    drain(app)
    assert len(filtered.received) == posts and len(everything.events) == 5
    assert pending(driver) == []  # filtered events count as delivered


def test_threshold_and_backoff_as_distribution_and_the_backlog_is_logged(
    instance, receivers, driver, caplog
):
    receiver = receivers()
    receiver.answer = Answer(500, body=b"")
    app = instance(endpoint(receiver, "flaky", threshold=3, backoff=7.0))
    app.push_blob("team/app", b"data")
    lane = delivery(app).lane("endpoint-flaky")
    with caplog.at_level(logging.INFO):
        delays = [lane.step() for _ in range(4)]
    assert delays == [0.0, 0.0, 7.0, 7.0]  # retried at once until the threshold, then backoff
    assert len(receiver.received) == 4 and len(pending(driver)) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"notification endpoint flaky (http://127.0.0.1:{receiver.port}/events) is failing: "
        "answered 500 Internal Server Error; 3 failures in a row, retrying every 7 s; "
        f"1 outbox objects wait for it, the oldest from {pending(driver)[0][14:37]} "
        "(kept in storage until delivered)"
    ]
    receiver.answer = Answer(302, body=b"")  # 2xx and 3xx are deliveries, as in distribution
    with caplog.at_level(logging.INFO):
        assert lane.step() == 0.05
    assert "notification endpoint flaky recovered after 4 failed attempts" in caplog.text
    assert pending(driver) == [] and lane.failures == 0


def test_a_disabled_endpoint_is_not_a_consumer(instance, receivers, driver):
    on, off = receivers(), receivers()
    app = instance(endpoint(on, "on"), endpoint(off, "off", disabled=True))
    app.push_blob("team/app", b"data")
    drain(app)
    assert len(on.events) == 1 and off.received == [] and pending(driver) == []


def test_without_index_or_endpoint_nothing_is_written(instance, driver):
    app = instance()
    app.push_blob("team/app", b"data")
    assert delivery(app) is None and pending(driver) == []


def test_a_slow_endpoint_does_not_delay_the_others(instance, receivers, driver):
    """Each consumer has its own thread: while one endpoint takes its whole timeout to
    (not) answer, the other gets every event."""
    slow, fast = receivers(), receivers()
    slow.hold()  # never answers (until released at teardown)
    app = instance(endpoint(slow, "slow", timeout=2.0), endpoint(fast, "fast"), background=True)
    try:
        app.push_blob("team/app", b"one")
        fast.wait_events(lambda events: len(events) == 1, timeout=1.5)
        app.push_blob("team/app", b"two")
        fast.wait_events(lambda events: len(events) == 2, timeout=1.5)
        assert len(pending(driver)) == 2  # the slow one has not acknowledged them
    finally:
        delivery(app).stop()


# -- Wharf's extension events: for the Index, never for endpoints ---------------------------

GC_RUN = {
    "started_at": "2026-01-02T03:04:05Z",
    "finished_at": datetime(2026, 1, 2, 3, 5, tzinfo=UTC),
    "dry_run": False,
    "blobs_deleted": 3,
    "manifests_deleted": 1,
    "bytes_freed": 4096,
    "uploads_purged": 2,
    "blobs_marked": 17,
}


def refuse_quota(app, repository="team/app", actor="alice", message="team is over its quota"):
    """Call record_quota_refusal as a view refusing a push would."""
    flask_app = app.client.application
    headers = {"User-Agent": "docker/27.0"}
    with flask_app.test_request_context(f"/v2/{repository}/manifests/v1", "PUT", headers=headers):
        return record_quota_refusal(repository, actor, message)


def test_extension_events_reach_the_index_and_never_an_endpoint(instance, receivers, store, index):
    receiver = receivers()
    app = instance(endpoint(receiver, "hook"), with_index=True, store=store)
    settings = app.client.application.extensions["registry"].settings
    refused = refuse_quota(app)
    # A CLI process: the registry's storage and settings, no Flask app.
    ran = record_gc_run(GC_RUN, driver=store, settings=settings)
    app.push_blob("team/app", b"a blob")
    drain(app)
    assert [e.action for e in receiver.events] == ["push"]  # only the Distribution event
    assert [e.action for e in index.events] == ["wharf.quota_refused", "wharf.gc", "push"]
    quota, gc, _ = index.events  # the fake loads strictly: the wire fields are the protocol's
    assert (quota.id, gc.id) == (refused.id, ran.id)
    assert (quota.target.repository, quota.target.message) == ("team/app", refused.target.message)
    assert quota.actor.name == "alice" and quota.request.useragent == "docker/27.0"
    assert gc.target.repository == "" and gc.target.summary.to_dict() == {
        **GC_RUN,
        "finished_at": "2026-01-02T03:05:00Z",
    }
    assert pending(store) == []  # both consumers are past them: collected


def test_without_an_index_extension_events_are_not_written(instance, receivers, driver):
    receiver = receivers()
    app = instance(endpoint(receiver, "hook"))
    settings = app.client.application.extensions["registry"].settings
    assert refuse_quota(app) is None
    assert record_gc_run(GC_RUN, driver=driver, settings=settings) is None
    assert pending(driver) == []


def test_an_endpoint_consumer_skips_extension_events_it_is_handed(receivers, driver):
    receiver = receivers()
    consumer = EndpointConsumer(endpoint(receiver, "hook"))
    gc = wharf_event(GC, Target("", "", None, "", summary=gc_summary(GC_RUN)))
    push = new_event("push", Target("application/octet-stream", "sha256:" + "a" * 64, 1, "t/a"))
    consumer.deliver([("/wharf/outbox/x.json", [gc, push])])
    consumer.deliver([("/wharf/outbox/y.json", [gc])])  # nothing left to send: no POST
    assert [e.id for e in receiver.events] == [push.id] and len(receiver.received) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"blobs_marked": -1},
        {"dry_run": "no"},
        {"started_at": "2026-01-02T03:04:05"},  # no offset
        {"started_at": datetime(2026, 1, 2)},  # naive
        {"extra": 1},
    ],
)
def test_a_bad_gc_summary_is_refused_naming_the_key(change, driver):
    settings = Settings(index_url=URL, index_name=NAME, index_credential=CREDENTIAL)
    with pytest.raises(ValueError, match=next(iter(change))):
        record_gc_run({**GC_RUN, **change}, driver=driver, settings=settings)
    with pytest.raises(ValueError, match="missing keys \\['bytes_freed'\\]"):
        record_gc_run({k: v for k, v in GC_RUN.items() if k != "bytes_freed"}, driver=driver)
    assert pending(driver) == []


class FailingSink:
    def write(self, events):
        raise OSError("storage is gone")


def test_a_failed_quota_record_does_not_fail_the_request(make_client, driver, caplog):
    settings = Settings(index_url=URL, index_name=NAME, index_credential=CREDENTIAL)
    client = make_client(settings, driver=driver, sink=FailingSink(), deliver_in_background=False)
    with client.application.test_request_context("/v2/team/app/manifests/v1", "PUT"):
        with caplog.at_level(logging.WARNING):
            assert record_quota_refusal("team/app", "alice", "over quota") is None
    assert "quota refusal for team/app not recorded" in caplog.text
