"""The pull counter: pulls counted in memory, flushed as counted pull events in one write."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

import pytest
from wharf_protocol.events import MAX_PULL_COUNT, PULL, Actor, RequestRecord, Target, new_event
from wharf_registry.events import Outbox, OutboxSink, PullCounter
from wharf_registry.events.pull_counter import MAX_USERAGENT
from wharf_registry.storage import InMemoryDriver

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


class Sink:
    """Records each write (one list per call); fails while ``failing``."""

    def __init__(self) -> None:
        self.writes: list[list] = []
        self.failing = False
        self.lock = threading.Lock()

    def write(self, events) -> None:
        if self.failing:
            raise OSError(28, "No space left on device")
        with self.lock:
            self.writes.append(list(events))

    @property
    def events(self) -> list:
        with self.lock:
            return [e for write in self.writes for e in write]

    def total(self) -> int:
        return sum(e.count for e in self.events)


def pull(repository="team/app", tag="v1", digest=DIGEST, actor="alice", useragent="docker"):
    target = Target("application/vnd.oci.image.manifest.v1+json", digest, 500, repository, tag=tag)
    return new_event(PULL, target, RequestRecord(useragent=useragent), Actor(actor))


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def sink():
    return Sink()


@pytest.fixture
def counters():
    """Factory of PullCounters whose flusher threads are stopped at teardown."""
    made: list[PullCounter] = []

    def make(sink, **kw) -> PullCounter:
        made.append(PullCounter(sink, **kw))
        return made[-1]

    yield make
    for counter in made:
        counter.stop()


def test_pulls_are_counted_per_target_and_actor_and_flushed_in_one_write(sink):
    counter = PullCounter(sink)
    pulls = [pull() for _ in range(3)] + [pull(tag="", digest=DIGEST)] * 2
    pulls += [pull(actor="wharf-index"), pull(actor=""), pull(repository="team/other")]
    counter.write(pulls[:4])
    counter.write(pulls[4:])
    assert sink.writes == [] and counter.pending() == 8
    assert counter.flush() == 8
    assert len(sink.writes) == 1
    counts = {(e.target.repository, e.target.tag, e.actor.name): e.count for e in sink.events}
    assert counts == {
        ("team/app", "v1", "alice"): 3,
        ("team/app", "", "alice"): 2,
        ("team/app", "v1", "wharf-index"): 1,  # the Index's own reads stay apart
        ("team/app", "v1", ""): 1,
        ("team/other", "v1", "alice"): 1,
    }
    assert counter.flush() == 0 and len(sink.writes) == 1 and counter.pending() == 0


def test_a_flushed_event_is_the_windows_last_pull_with_a_fresh_id(sink):
    counter = PullCounter(sink)
    first, last = pull(useragent="first"), pull(useragent="x" * 1000)
    counter.write([first, last])
    counter.flush()
    (event,) = sink.events
    assert event.id not in (first.id, last.id) and event.count == 2
    assert (event.timestamp, event.target, event.actor) == (last.timestamp, last.target, last.actor)
    assert event.request.useragent == "x" * MAX_USERAGENT


def test_only_pull_events_are_taken(sink):
    push = new_event("push", Target("", DIGEST, 1, "team/app"))
    with pytest.raises(ValueError, match="pull"):
        PullCounter(sink).write([push])


def test_a_key_reaching_the_largest_count_closes_its_event(sink):
    counter = PullCounter(sink)
    counter.write([replace(pull(), count=MAX_PULL_COUNT - 1), pull(), pull()])
    counter.flush()
    assert sorted(e.count for e in sink.events) == [1, MAX_PULL_COUNT]
    assert sink.total() == MAX_PULL_COUNT + 1


def test_a_full_set_of_keys_is_set_aside_and_only_a_third_one_drops_new_keys(sink, caplog):
    counter = PullCounter(sink, max_keys=3)
    counter.write([pull(tag=f"t{n}") for n in range(3)])  # full: set aside for the flusher
    counter.write([pull(tag=f"u{n}") for n in range(3)])  # full again while that one waits
    counter.write([pull(tag="x"), pull(tag="x")])  # no room: not counted
    counter.write([pull(tag="u0")] * 4)  # a counted key goes on counting
    assert counter.pending() == 10
    assert len(counter._tallies) == len(counter._sealed[0]) == 3
    with caplog.at_level(logging.WARNING, logger="wharf_registry.events.pull_counter"):
        assert counter.flush() == 10
    assert "2 pulls not counted" in caplog.text and len(sink.writes) == 1
    counter.write([pull(tag="x")])  # room again after the flush
    assert counter.flush() == 1


def test_a_failed_write_keeps_its_events_and_retries_them_with_the_next(sink):
    counter = PullCounter(sink, interval=0.5, max_backoff=3.0)
    counter.write([pull(), pull()])
    sink.failing = True
    assert [counter.step() for _ in range(4)] == [1.0, 2.0, 3.0, 3.0]
    kept = counter._unwritten[0].id
    counter.write([pull(tag="v2")])
    sink.failing = False
    assert counter.step() == 0.5 and counter.failures == 0
    kept_write, later_write = sink.writes  # the kept events first, as they were
    assert [(e.id, e.count) for e in kept_write] == [(kept, 2)]  # the Index applies an id once
    assert [(e.target.tag, e.count) for e in later_write] == [("v2", 1)]


def test_memory_stays_bounded_while_the_outbox_fails(sink):
    counter = PullCounter(sink, max_keys=10)
    sink.failing = True
    for round_ in range(20):
        counter.write([pull(tag=f"r{round_}k{k}") for k in range(15)])
        counter.step()
        assert len(counter._unwritten) <= 2 * 10 and len(counter._tallies) <= 10
        assert counter._sealed is None or len(counter._sealed[0]) <= 10
    waiting = counter.pending()
    assert waiting <= 4 * 10
    sink.failing = False
    counter.step()  # the kept events, then what was counted meanwhile
    assert sink.total() == waiting and counter.pending() == 0 and len(sink.writes) == 2


def test_the_flusher_writes_every_interval(sink, counters):
    counter = counters(sink, interval=0.05)
    counter.ensure_started()
    counter.write([pull()])
    assert wait_for(lambda: sink.total() == 1)
    counter.write([pull(), pull()])
    assert wait_for(lambda: sink.total() == 3)
    assert len(sink.writes) == 2


def test_the_flusher_writes_early_when_the_keys_reach_the_bound(sink, counters):
    counter = counters(sink, interval=3600, max_keys=5)
    counter.ensure_started()
    counter.write([pull(tag=f"t{n}") for n in range(4)] + [pull(tag="t0")])
    time.sleep(0.2)  # proves a negative: below the bound nothing is written before the interval
    assert sink.writes == []
    counter.write([pull(tag="t4")])
    assert wait_for(lambda: sink.total() == 6)
    assert len(sink.writes) == 1


def test_stop_writes_what_is_counted(sink, counters):
    counter = counters(sink, interval=3600)
    counter.ensure_started()
    counter.write([pull()] * 7)
    counter.stop()
    assert sink.total() == 7 and len(sink.writes) == 1
    assert not counter._thread.is_alive()


def test_sixteen_threads_count_exactly_while_the_flusher_runs(counters):
    driver = InMemoryDriver()
    counter = counters(OutboxSink(Outbox(driver)), interval=0.001)
    counter.ensure_started()
    start = threading.Barrier(16)

    def pulls(n: int) -> None:
        start.wait()
        for i in range(1000):
            counter.write([pull(tag=f"t{(n + i) % 8}", actor=f"u{n % 2}")])

    threads = [threading.Thread(target=pulls, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counter.stop()
    outbox = Outbox(driver)
    written = [e for path in outbox.pending(10_000) for e in outbox.load(path)]
    assert sum(e.count for e in written) == 16_000
    assert len({e.id for e in written}) == len(written)
    assert len(outbox.pending(10_000)) > 1  # the flusher wrote while the threads counted
