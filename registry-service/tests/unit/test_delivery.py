"""Outbox lease and delivery loop mechanics (in-memory storage, fake clients and clock)."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from wharf_protocol.client import IndexUnavailable, RegistryCredentialRejected
from wharf_protocol.events import Target, new_event
from wharf_registry.events import Delivery, Outbox, OutboxSink
from wharf_registry.events.delivery import IndexConsumer, Lane
from wharf_registry.events.outbox import LEASE, OutboxError, event_name
from wharf_registry.storage import InMemoryDriver


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Client:
    """Stands in for IndexClient.post_events: raises the queued errors, then records."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.posted: list = []

    def post_events(self, events) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.posted.extend(events)


def event(repository: str = "team/app"):
    return new_event("push", Target("", "", None, repository))


def test_the_lease_is_exclusive_until_it_expires_or_is_released():
    clock = Clock()
    outbox = Outbox(InMemoryDriver(), clock=clock)
    assert outbox.acquire("a", 60) and outbox.acquire("a", 60)  # renewal
    assert not outbox.acquire("b", 60)
    clock.now += 61  # a crashed holder's lease expires
    assert outbox.acquire("b", 60) and not outbox.acquire("a", 60)
    outbox.release("a")  # not the holder: nothing happens
    assert not outbox.acquire("a", 60)
    outbox.release("b")
    assert outbox.acquire("a", 60)


def test_an_unreadable_lease_is_taken_over(caplog):
    driver = InMemoryDriver()
    driver.put_content(LEASE, b"\xff garbage")
    with caplog.at_level(logging.WARNING):
        assert Outbox(driver).acquire("a", 60)
    assert "unreadable" in caplog.text


def test_event_names_sort_by_time():
    first, second = event(), event()
    assert event_name(first) < event_name(second) or first.timestamp == second.timestamp
    assert event_name(first).endswith(f"-{first.id}.json")


def test_backoff_doubles_up_to_the_maximum_and_resets_after_success(caplog):
    outbox = Outbox(InMemoryDriver())
    outbox.append([event()])
    client = Client(
        IndexUnavailable("down"),
        RegistryCredentialRejected("refused"),
        IndexUnavailable("down"),
        IndexUnavailable("down"),
    )
    delivery = Delivery(outbox, client, interval=0.5, max_backoff=3.0)
    with caplog.at_level(logging.INFO):
        delays = [delivery.step() for _ in range(5)]
    assert delays == [1.0, 2.0, 3.0, 3.0, 0.5]
    assert len(client.posted) == 1 and outbox.pending(10) == []
    assert "retry 4 in 3.0 s" in caplog.text and "recovered after 4" in caplog.text


def test_the_loop_survives_a_bug_and_keeps_the_events(caplog):
    outbox = Outbox(InMemoryDriver())
    outbox.append([event()])
    delivery = Delivery(outbox, Client(RuntimeError("bug")), interval=1.0)
    assert delivery.step() == 2.0
    assert "event delivery crashed" in caplog.text and len(outbox.pending(10)) == 1
    assert delivery.step() == 1.0 and outbox.pending(10) == []


def test_a_full_batch_is_followed_at_once_by_the_next():
    outbox = Outbox(InMemoryDriver())
    for _ in range(3):
        outbox.append([event()])
    delivery = Delivery(outbox, Client(), batch=2, interval=1.0)
    assert delivery.step() == 0.0
    assert delivery.step() == 1.0
    assert outbox.pending(10) == []


def test_concurrent_writes_share_objects_and_lose_nothing():
    class SlowDriver(InMemoryDriver):
        def _put_content(self, path, content):
            time.sleep(0.01)  # a slow fsync: writers queue up behind it
            super()._put_content(path, content)

    outbox = Outbox(SlowDriver())
    sink = OutboxSink(outbox)
    written = [event(f"team/app{n}") for n in range(64)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda e: sink.write([e]), written))
    objects = outbox.pending(1000)
    stored = [e.id for path in objects for e in outbox.load(path)]
    assert sorted(stored) == sorted(e.id for e in written)
    assert len(objects) < len(written)  # group commit: fewer writes than requests


def test_a_failed_group_write_fails_every_request_of_the_group():
    class FullDriver(InMemoryDriver):
        def _put_content(self, path, content):
            raise OSError(28, "No space left on device")

    sink = OutboxSink(Outbox(FullDriver()))
    with pytest.raises(OutboxError, match="outbox write failed"):
        sink.write([event()])
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: _raises(sink), range(8)))
    assert all(results)


def _raises(sink) -> bool:
    try:
        sink.write([event()])
    except OutboxError:
        return True
    return False


def test_refused_events_are_logged_and_not_resent(caplog):
    """The Index acknowledges events it will not apply (another namespace's, say) and lists
    them; the registry logs each with the reason and does not send them again."""

    class Refusing(Client):
        def post_events(self, events):
            super().post_events(events)
            return [
                (e.id, "namespace not served by this registry")
                for e in events
                if e.target.repository.startswith("alice/")
            ]

    driver, client = InMemoryDriver(), Refusing()
    sink = OutboxSink(Outbox(driver))
    ours, theirs = event("team/app"), event("alice/victim")
    sink.write([ours, theirs])
    delivery = Delivery(Outbox(driver), client)
    with caplog.at_level(logging.WARNING):
        assert delivery.run_once() == 2
    assert f"the Index refused event {theirs.id} (push alice/victim)" in caplog.text
    assert "namespace not served" in caplog.text and ours.id not in caplog.text
    assert delivery.run_once() == 0 and len(client.posted) == 2


def test_an_object_landing_after_a_later_name_was_delivered_is_still_read():
    """Names are event times; an object can reach storage after one named later (another
    worker's group commit). Within the settle window the consumer still reads it."""
    from datetime import timedelta

    from wharf_registry.events.outbox import SETTLE_SECONDS, Position

    outbox = Outbox(InMemoryDriver())
    early, late = event("team/early"), event("team/late")
    stale = new_event("push", Target("", "", None, "team/stale"))
    stale = type(stale)(
        stale.id,
        late.timestamp - timedelta(seconds=SETTLE_SECONDS + 1),
        stale.action,
        stale.target,
    )
    outbox.append([late])
    position = Position().advance([event_name(late)])
    assert outbox.pending(10, position) == [] and position.covers(event_name(late))
    outbox.append([early])  # lands late, but within the window: still pending for it
    outbox.append([stale])  # older than the window: counted as delivered (documented limit)
    assert outbox.pending(10, position) == [f"/wharf/outbox/{event_name(early)}"]
    assert not position.covers(event_name(early)) and position.covers(event_name(stale))
    later = position.advance([event_name(early)])
    assert outbox.pending(10, later) == [] and later.covers(event_name(early))


def test_catching_up_on_old_objects_keeps_the_position_small():
    """Objects named longer ago than the window had all landed when listed: the horizon
    moves to the last one delivered and nothing is kept in ``done``; but never past a name
    the listing did not reach (a batch limit)."""
    from datetime import timedelta

    from wharf_registry.events.outbox import SETTLE_SECONDS, Position

    outbox = Outbox(InMemoryDriver())
    old = []
    for n in range(4):
        e = event(f"team/app{n}")
        e = type(e)(
            e.id, e.timestamp - timedelta(seconds=SETTLE_SECONDS * 10 - n), e.action, e.target
        )
        outbox.append([e])
        old.append(event_name(e))
    first = outbox.pending(2, Position())
    position = Position().advance([p.rsplit("/", 1)[-1] for p in first])
    assert position.horizon == old[1] and position.done == frozenset()
    assert outbox.pending(10, position) == [f"/wharf/outbox/{n}" for n in old[2:]]


def test_positions_are_stored_and_an_unreadable_one_restarts_from_the_beginning(caplog):
    from wharf_registry.events.outbox import POSITIONS, Position

    driver = InMemoryDriver()
    outbox = Outbox(driver)
    first = event()
    position = Position().advance([event_name(first)])
    outbox.save_position("endpoint-a", position)
    assert outbox.position("endpoint-a") == position
    assert outbox.position("endpoint-b") == Position()
    driver.put_content(f"{POSITIONS}/endpoint-a.json", b"[1, 2]")
    with caplog.at_level(logging.WARNING):
        assert outbox.position("endpoint-a") == Position()
    assert "unreadable" in caplog.text


def test_the_lease_is_shared_by_the_consumers_of_one_process():
    """Two consumers in one process hold the lease together; it is given up only once
    neither has more, and another process waits for it meanwhile."""
    driver = InMemoryDriver()
    outbox = Outbox(driver)
    for n in range(3):
        outbox.append([event(f"team/app{n}")])
    first = Delivery(Outbox(driver), Client(), batch=1)
    second = IndexConsumer(outbox, Client(), 1.0, 60.0)
    second.name = "index-copy"  # a second consumer with its own position
    first.lanes.append(Lane(first, second))
    first.sole = False
    other = Delivery(Outbox(driver), Client(), batch=1)
    assert first.lanes[0].run_once() == 1 and first.lanes[0].more
    assert other.run_once() == 0  # the lease is held
    while first.lanes[0].run_once():
        pass
    assert not first.lanes[0].more and first.holds(first.lanes[1]) is False
    assert outbox.pending(10) != []  # the second consumer has not read them yet
    assert first.lanes[1].run_once() == 1  # takes the lease again, reads from its position
    assert other.run_once() == 0


def test_a_name_from_a_clock_running_ahead_does_not_push_the_horizon_past_now():
    from datetime import UTC, datetime, timedelta

    from wharf_registry.events.outbox import TIME_FORMAT, Position

    ahead = (datetime.now(UTC) + timedelta(hours=1)).strftime(TIME_FORMAT) + "-x.json"
    position = Position().advance([ahead])
    now = datetime.now(UTC).strftime(TIME_FORMAT)
    assert position.horizon < now and not position.covers(now + "-written-now.json")
