"""The durable outbox: events kept in the registry's storage until every consumer has them.

Layout (outside ``/docker/registry/v2`` so the reference registry's tree stays clean)::

    /wharf/
      outbox/<time>-<event id>.json       pending events: an envelope {"events": [...]}
      outbox-dead/<time>-<event id>.json  events the Index refused as invalid (kept, never sent)
      outbox-lease.json                   {"owner": ..., "expires": <epoch s>}: who delivers now
      outbox-positions/<consumer>.json    {"horizon": <name>, "done": [<name>...]}: how far a
                                          consumer got (only while several consumers exist)

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
uses: list, load, remove, bury, lease, positions.

Consumers (the Index, each notification endpoint) read the same objects, each at its own
:class:`Position`. A position is not just "the last name delivered": names are times taken when
an event is made, and an object reaches storage a little later (the group commit waits for the
write before it; another worker or replica writes its own objects meanwhile), so an object
may appear *before* a name already delivered. A position therefore holds a ``horizon`` and the
names delivered after it (``done``): everything up to the horizon counts as delivered, and
the horizon stays :data:`SETTLE_SECONDS` behind the time of the listing the consumer read
(:meth:`Position.advance`). A consumer reads the objects after its horizon that are not
``done``, so an object landing up to that long "late" is still delivered. The assumption is
that an event's object reaches storage within ``SETTLE_SECONDS`` of the event's time, and
that replicas' clocks agree to well within that (NTP does); an object older than that when it
lands could be missed by a consumer already past it.

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
from datetime import UTC, datetime, timedelta

from wharf_protocol.events import Event, EventsInvalid, dump_envelope, load_envelope

from ..storage.base import PathNotFound, StorageDriver

logger = logging.getLogger(__name__)

OUTBOX = "/wharf/outbox"
DEAD = "/wharf/outbox-dead"
LEASE = "/wharf/outbox-lease.json"
POSITIONS = "/wharf/outbox-positions"
TIME_FORMAT = "%Y%m%dT%H%M%S.%fZ"
SETTLE_SECONDS = 30.0


def event_name(event: Event) -> str:
    """Return the file name of ``event`` in the outbox (sortable by time, unique by id)."""
    return f"{event.timestamp.strftime(TIME_FORMAT)}-{event.id}.json"


@dataclass(frozen=True)
class Position:
    """How far one consumer got: every name <= ``horizon``, and the names in ``done``."""

    horizon: str = ""
    done: frozenset[str] = frozenset()

    def covers(self, name: str) -> bool:
        """Tell whether the object ``name`` (a file name in the outbox) was delivered."""
        return (bool(self.horizon) and name <= self.horizon) or name in self.done

    def advance(self, names: Sequence[str], listed_at: datetime | None = None) -> Position:
        """Return the position after delivering ``names``, the first names (in order) of a
        listing after this position made at ``listed_at`` (default now).

        Objects named before ``listed_at - SETTLE_SECONDS`` had all landed when the consumer
        listed them, so the horizon moves up to the newest delivered name within that bound;
        ``done`` keeps only the names after it (the last window's, at the head of the outbox;
        almost none while catching up). This host's clock bounds it, so a replica whose clock
        runs ahead cannot carry the horizon past objects the others write later.
        """
        done = self.done | set(names)
        bound = (listed_at or datetime.now(UTC)) - timedelta(seconds=SETTLE_SECONDS)
        horizon = self.horizon
        if names:  # a prefix of the listing: everything listed up to max(names) is delivered
            horizon = max(horizon, min(max(names), bound.strftime(TIME_FORMAT)))
        return Position(horizon, frozenset(n for n in done if not (horizon and n <= horizon)))

    def dump(self) -> bytes:
        return json.dumps({"horizon": self.horizon, "done": sorted(self.done)}).encode()

    @classmethod
    def load(cls, data: bytes) -> Position:
        """Parse a stored position; ValueError if it is not one."""
        value = json.loads(data)
        horizon, done = value.get("horizon", ""), value.get("done", [])
        if not isinstance(horizon, str) or not all(isinstance(n, str) for n in done):
            raise ValueError("not an outbox position")
        return cls(horizon, frozenset(done))


@dataclass(frozen=True)
class Backlog:
    """What the outbox holds: ``pending`` objects not yet delivered to every consumer
    (counted up to a listing's limit: ``capped`` when it reached it) and the time of the
    oldest one's first event (None: empty). An object holds the events of one group commit,
    so it is one event or more."""

    pending: int
    capped: bool = False
    oldest: datetime | None = None

    def oldest_age(self, now: float) -> float:
        """Seconds since the oldest pending object's event at epoch ``now`` (0: none)."""
        return max(0.0, now - self.oldest.timestamp()) if self.oldest else 0.0


class Outbox:
    """Pending events in storage: append, list oldest first, load, remove, bury, lease,
    the backlog."""

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

    def pending(self, limit: int, after: Position | None = None) -> list[str]:
        """Return the paths of up to ``limit`` pending objects ``after`` isn't past, oldest first.

        This is the one "read the next batch after my position" of every consumer.
        """
        after = after or Position()
        start = f"{OUTBOX}/{after.horizon}" if after.horizon else None
        try:
            paths = self.driver.list(OUTBOX, start_after=start, limit=limit + len(after.done))
        except PathNotFound:
            return []
        return [p for p in paths if p.rsplit("/", 1)[-1] not in after.done][:limit]

    def backlog(self, limit: int) -> Backlog:
        """Count the pending objects (one listing of at most ``limit`` names, whose first is
        the oldest: names start with the event time); StorageError propagates."""
        try:
            paths = self.driver.list(OUTBOX, limit=limit)
        except PathNotFound:
            paths = []
        oldest = None
        if paths:
            stamp = paths[0].rsplit("/", 1)[-1].split("-", 1)[0]
            try:
                oldest = datetime.strptime(stamp, TIME_FORMAT).replace(tzinfo=UTC)
            except ValueError:  # not a name this outbox wrote: its age is unknown
                pass
        return Backlog(len(paths), len(paths) >= limit, oldest)

    def position(self, consumer: str) -> Position:
        """Return ``consumer``'s stored position (none yet, or unreadable: the beginning)."""
        path = f"{POSITIONS}/{consumer}.json"
        try:
            return Position.load(self.driver.get_content(path))
        except PathNotFound:
            return Position()
        except (ValueError, UnicodeDecodeError, AttributeError):
            logger.warning("outbox position %s is unreadable; starting from the beginning", path)
            return Position()

    def save_position(self, consumer: str, position: Position) -> None:
        """Store ``consumer``'s position (one atomic put_content); StorageError propagates."""
        self.driver.put_content(f"{POSITIONS}/{consumer}.json", position.dump())

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
