"""The durable outbox: events kept in the registry's storage until the Index acknowledged them.

Layout (outside ``/docker/registry/v2`` so the reference registry's tree stays clean)::

    /wharf/
      outbox/<time>-<event id>.json       pending events: an envelope {"events": [...]}
      outbox-dead/<time>-<event id>.json  events the Index refused as invalid (kept, never sent)
      outbox-lease.json                   {"owner": ..., "expires": <epoch s>}: who delivers now

``<time>-<event id>`` are the UTC timestamp (``YYYYmmddTHHMMSS.ffffffZ``) and id of the first
event of the object, so the driver's sorted listing is the order events happened in (within a
replica; clocks of replicas may differ a little, which the Index does not mind: it applies
each event id once).

:class:`OutboxSink` is the request path: ``write(events)`` returns once the events are in
storage, written with one ``put_content`` (atomic on every driver); if storage fails the
request fails, so nothing the client saw acknowledged is lost. Writes are group-committed:
while one request writes, the events of requests arriving meanwhile queue up and the next
writer stores them all in one object, so concurrent pulls share one (fsync'd) write instead
of paying one each. :class:`Outbox` is the storage side the delivery loop (:mod:`.delivery`)
uses: list, load, remove, bury, lease.

The lease is best-effort mutual exclusion (storage offers no compare-and-swap): a replica
takes it when it is absent, expired or its own, then reads it back. Two replicas racing in
the same instant may both deliver the same batch; that only duplicates events the Index
applies once. A crashed holder's lease expires after ``duration`` seconds.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from wharf_protocol.events import Event, EventsInvalid, dump_envelope, load_envelope

from ..storage.base import PathNotFound, StorageDriver

logger = logging.getLogger(__name__)

OUTBOX = "/wharf/outbox"
DEAD = "/wharf/outbox-dead"
LEASE = "/wharf/outbox-lease.json"
TIME_FORMAT = "%Y%m%dT%H%M%S.%fZ"


def event_name(event: Event) -> str:
    """Return the file name of ``event`` in the outbox (sortable by time, unique by id)."""
    return f"{event.timestamp.strftime(TIME_FORMAT)}-{event.id}.json"


class Outbox:
    """Pending events in storage: append, list oldest first, load, remove, bury, lease."""

    def __init__(self, driver: StorageDriver, clock: Callable[[], float] = time.time) -> None:
        self.driver = driver
        self._clock = clock

    def append(self, events: Sequence[Event]) -> None:
        """Store ``events`` in one object; StorageError propagates."""
        if events:
            self._put(f"{OUTBOX}/{event_name(events[0])}", events)

    def _put(self, path: str, events: Sequence[Event]) -> None:
        body = json.dumps(dump_envelope(events), separators=(",", ":")).encode()
        self.driver.put_content(path, body)

    def pending(self, limit: int) -> list[str]:
        """Return the paths of up to ``limit`` pending events, oldest first."""
        try:
            return self.driver.list(OUTBOX, limit=limit)
        except PathNotFound:
            return []

    def load(self, path: str) -> list[Event]:
        """Return the events at ``path``; EventsInvalid if unreadable, PathNotFound if gone."""
        try:
            return load_envelope(self.driver.get_content(path))
        except UnicodeDecodeError as exc:
            raise EventsInvalid({"_schema": [f"{path}: {exc}"]}) from None

    def remove(self, path: str) -> None:
        """Delete a delivered event (already gone: fine, another replica delivered it)."""
        try:
            self.driver.delete(path)
        except PathNotFound:
            pass

    def bury(self, path: str, events: Sequence[Event] | None = None) -> None:
        """Keep events the Index will never accept in the dead letters.

        Without ``events`` the whole object moves; with them, only those are written there
        (the caller removes the object once its other events are delivered).
        """
        dead = f"{DEAD}/{path.rsplit('/', 1)[-1]}"
        if events is not None:
            self._put(dead, events)
            return
        try:
            self.driver.move(path, dead)
        except PathNotFound:
            pass

    def dead(self) -> list[str]:
        """Return the paths of dead-lettered events."""
        try:
            return self.driver.list(DEAD)
        except PathNotFound:
            return []

    def acquire(self, owner: str, duration: float) -> bool:
        """Take or renew the delivery lease for ``duration`` s; False if another holds it."""
        now = self._clock()
        current = self._lease()
        if current and current.get("owner") != owner and current.get("expires", 0) > now:
            return False
        lease = {"owner": owner, "expires": now + duration}
        self.driver.put_content(LEASE, json.dumps(lease).encode())
        current = self._lease()
        return bool(current) and current.get("owner") == owner

    def release(self, owner: str) -> None:
        """Give the lease up if ``owner`` holds it (others may deliver at once)."""
        current = self._lease()
        if current and current.get("owner") == owner:
            try:
                self.driver.delete(LEASE)
            except PathNotFound:
                pass

    def _lease(self) -> dict | None:
        try:
            value = json.loads(self.driver.get_content(LEASE))
        except PathNotFound:
            return None
        except (ValueError, UnicodeDecodeError):
            logger.warning("event outbox lease %s is unreadable; taking it over", LEASE)
            return None
        return value if isinstance(value, dict) else None


class OutboxError(RuntimeError):
    """The outbox write carrying these events failed (the request must fail)."""


@dataclass
class _Waiting:
    events: list[Event]
    done: bool = False
    error: BaseException | None = field(default=None)


class OutboxSink:
    """The EventSink of the request path: events are in storage when ``write`` returns."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[_Waiting] = []
        self._writing = False

    def write(self, events: Sequence[Event]) -> None:
        """Store ``events`` durably (group commit); OutboxError if storage failed."""
        mine = _Waiting(list(events))
        with self._cond:
            self._queue.append(mine)
            while not mine.done:
                if self._writing:
                    self._cond.wait()
                else:
                    self._write_queued()
        if mine.error is not None:
            raise OutboxError(f"event outbox write failed: {mine.error}") from mine.error

    def _write_queued(self) -> None:
        """Write every queued request's events in one object (called holding the lock)."""
        self._writing = True
        batch, self._queue = self._queue, []
        self._cond.release()
        error = None
        try:
            self.outbox.append([event for waiting in batch for event in waiting.events])
        except Exception as exc:  # noqa: BLE001 - handed to every request of the batch
            error = exc
        finally:
            self._cond.acquire()
            self._writing = False
            for waiting in batch:
                waiting.done, waiting.error = True, error
            self._cond.notify_all()
