"""Pull events counted in memory and written to the outbox in the background, one flush at a time.

A manifest GET is a counter increment for the Index, not a fact it must never miss, so the
request path does not wait for storage: :meth:`PullCounter.write` adds each ``pull`` event to
a tally keyed by (repository, tag, digest, actor) and returns. A flusher thread (one per
worker process, started after the fork by :meth:`PullCounter.ensure_started` like
:class:`~.delivery.Delivery`) writes the tallies every ``interval`` seconds, or as soon as
``max_keys`` distinct keys are counted, as one ``pull`` event per key carrying Wharf's
``count`` (:mod:`wharf_protocol.events`), in ONE ``sink.write`` (the durable
:class:`~.outbox.OutboxSink`: one outbox object). The event of a key is the last pull's
(target, actor, request record, ``timestamp``) with a fresh id and ``count`` = the pulls of
the window; its ``useragent`` is cut to :data:`MAX_USERAGENT` characters (an envelope of
many keys stays far below the Index's body limit). Keying by actor keeps the Index's own
``registry sync`` reads (actor ``SYSTEM``) apart from users' pulls.

Losses, exactly:

- graceful exit (gunicorn worker exit, SIGTERM): none; an ``atexit`` handler stops the
  flusher and writes what is counted;
- a process that dies without exiting (``kill -9``, out of memory, gunicorn's timeout kill):
  the pulls counted since its last completed outbox write -- at most one flush window
  (``interval``, plus the time the write in progress was taking) of that process's pulls;
- a failing outbox write keeps its events (same ids) and writes them again, before
  anything counted since, with the next flush, backing off up to ``max_backoff``;
- memory is bounded under any load: when ``max_keys`` keys are counted, they are set
  aside for the flusher (woken at once) and counting goes on in a fresh set; only if the
  set aside before is still waiting (the outbox writes are too slow or failing) is a pull
  of a new key not counted -- such pulls are logged at WARNING with their number; counted
  keys go on counting. At most ``2 * max_keys`` tallies count and ``2 * max_keys`` events
  wait for a write.

Pushes and deletes never come here: they keep their durable outbox write before the answer.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from wharf_protocol.events import MAX_PULL_COUNT, PULL, Event

from .. import metrics
from .delivery import backoff
from .sinks import EventSink

logger = logging.getLogger(__name__)

MAX_USERAGENT = 256

Key = tuple[str, str, str, str]  # repository, tag, digest, actor name


@dataclass
class _Tally:
    last: Event  # the window's last pull of the key
    count: int


class PullCounter:
    """An EventSink for ``pull`` events that counts them and flushes them in the background."""

    def __init__(
        self,
        sink: EventSink,
        *,
        interval: float = 1.0,
        max_keys: int = 500,
        max_backoff: float = 60.0,
    ) -> None:
        self.sink = sink
        self.interval, self.max_keys, self.max_backoff = interval, max_keys, max_backoff
        self.failures = 0
        self._lock = threading.Lock()  # the tallies (request threads and the flusher)
        self._tallies: dict[Key, _Tally] = {}
        self._full: list[Event] = []  # keys that reached MAX_PULL_COUNT, closed early
        self._sealed: tuple[dict[Key, _Tally], list[Event]] | None = None  # full, to flush
        self._dropped = 0
        self._flushing = threading.Lock()  # one flush at a time
        self._unwritten: list[Event] = []  # the last failed flush's events, retried as they are
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._start_lock = threading.Lock()

    # -- the request path -------------------------------------------------------------------

    def write(self, events: Sequence[Event]) -> None:
        """Count ``events`` (``pull`` events only: ValueError otherwise); never blocks on I/O."""
        for event in events:
            if event.action != PULL:
                raise ValueError(f"the pull counter takes pull events, not {event.action!r}")
            self._add(event)

    def _add(self, event: Event) -> None:
        target = event.target
        key = (target.repository, target.tag, target.digest, event.actor.name)
        with self._lock:
            tally = self._tallies.get(key)
            if tally is None:
                if len(self._tallies) + len(self._full) >= self.max_keys and not self._seal():
                    self._dropped += event.count
                    return
                self._tallies[key] = _Tally(event, event.count)
                if len(self._tallies) + len(self._full) >= self.max_keys:
                    self._seal()
                return
            room = MAX_PULL_COUNT - tally.count
            tally.last, tally.count = event, tally.count + min(event.count, room)
            if tally.count == MAX_PULL_COUNT:  # close this key's event, count on in a new one
                self._full.append(_event(tally))
                del self._tallies[key]
                if event.count > room:
                    self._tallies[key] = _Tally(event, event.count - room)

    def _seal(self) -> bool:
        """Set the full tallies aside for the flusher and wake it; False if the previous
        full set still waits (the flusher is behind: the caller drops the new key).

        Called holding the lock."""
        if self._sealed is not None:
            return False
        self._sealed = (self._tallies, self._full)
        self._tallies, self._full = {}, []
        if not self.failures:
            self._wake.set()  # flush early (not while backing off a failing outbox)
        return True

    # -- flushing -----------------------------------------------------------------------------

    def pending(self) -> int:
        """Return how many pulls are counted and not yet written (tests, logs)."""
        with self._lock:
            sets = [(self._tallies, self._full), self._sealed or ({}, [])]
            counted = sum(t.count for tallies, _ in sets for t in tallies.values())
            counted += sum(e.count for _, full in sets for e in full)
        return counted + sum(e.count for e in self._unwritten)

    def flush(self) -> int:
        """Write the counted pulls in one ``sink.write``; return how many pulls it carried.

        A failed write's error propagates and its events are kept: the next flush writes
        them again, with the same ids, before anything counted since.
        """
        with self._flushing:
            events, self._unwritten = self._unwritten or self._take(), []
            if not events:
                return 0
            try:
                self.sink.write(events)
            except BaseException:
                self._unwritten = events
                raise
            pulls = sum(event.count for event in events)
            metrics.pulls_flushed(pulls)
            logger.debug("pull counts flushed: %d pulls in %d events", pulls, len(events))
            return pulls

    def _take(self) -> list[Event]:
        """Return the events of everything counted (at most ``2 * max_keys``), emptied."""
        with self._lock:
            sets = [self._sealed or ({}, []), (self._tallies, self._full)]
            self._sealed, self._tallies, self._full = None, {}, []
            dropped, self._dropped = self._dropped, 0
        if dropped:
            logger.warning(
                "%d pulls not counted: %d distinct pulled targets were already waiting for "
                "the event outbox twice over (writes too slow or failing)",
                dropped,
                self.max_keys,
            )
        return [e for tallies, full in sets for e in full + [*map(_event, tallies.values())]]

    def step(self) -> float:
        """Flush once, handling failures; return the seconds to wait before the next flush.

        After a failed write succeeds, what was counted meanwhile is flushed at once too."""
        try:
            retried = bool(self._unwritten)
            self.flush()
            if retried:
                self.flush()
        except Exception as exc:  # noqa: BLE001 - the flusher must survive; counts are kept
            self.failures += 1
            delay = backoff(self.failures, self.interval, self.max_backoff)
            logger.warning(
                "pull counts not written to the event outbox (%s: %s); kept, retry in %.1f s",
                type(exc).__name__,
                exc,
                delay,
            )
            return delay
        if self.failures:
            logger.info("pull counts written again after %d failed attempts", self.failures)
            self.failures = 0
        return self.interval

    # -- the flusher thread -------------------------------------------------------------------

    def ensure_started(self) -> None:
        """Start this process's flusher if it is not running (cheap when it is).

        Also registers the ``atexit`` flush: a worker's graceful exit writes what it counted.
        """
        if self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._loop, name="wharf-pull-counter", daemon=True
            )
            self._thread.start()
            atexit.register(self.stop)
            self._pid = os.getpid()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the flusher and write what is counted (graceful exit; tests)."""
        atexit.unregister(self.stop)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pid = None
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - exiting: say what is lost
            logger.exception("%d pulls not written to the event outbox at exit", self.pending())

    def _loop(self) -> None:
        delay = self.interval
        while not self._stop.is_set():
            self._wake.wait(delay)
            self._wake.clear()
            if self._stop.is_set():
                return
            delay = self.step()


def _event(tally: _Tally) -> Event:
    """Return the event of a tally: the last pull with a fresh id and the window's count."""
    last = tally.last
    request = last.request
    if len(request.useragent) > MAX_USERAGENT:
        request = dataclasses.replace(request, useragent=request.useragent[:MAX_USERAGENT])
    return dataclasses.replace(last, id=str(uuid.uuid4()), request=request, count=tally.count)
