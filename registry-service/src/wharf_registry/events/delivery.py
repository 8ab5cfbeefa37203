"""Deliver the outbox to its consumers in the background (docs/architecture.md, "Events").

The consumers are the Index (:class:`IndexConsumer`, when configured) and each enabled
notification endpoint (:class:`~.endpoint.EndpointConsumer`). Each reads the same outbox at its
own position (:class:`~.outbox.Position`) in a :class:`Lane`: the lane's thread runs passes
(:meth:`Lane.run_once`), and its failures and backoff are its own, so an endpoint that is down
or slow never delays the Index or another endpoint. One thread per consumer rather than a
shared loop with a time budget: a blocked POST (up to the endpoint's ``timeout``) or a long
backoff then costs only that consumer's thread, and each consumer keeps the pace of its own
receiver. A pass:

1. read the next batch after the consumer's position: up to ``batch`` outbox objects, oldest
   first (:meth:`Outbox.pending`), loaded until ``batch`` events (an object holds the events of
   one group commit); nothing pending: done;
2. take the outbox lease (another live replica delivering: skip this pass); the lease covers
   every consumer of the process (one owner), and is given up once none of them has more;
3. hand the events to the consumer (the Index: ``IndexClient.post_events``; an endpoint: one
   HTTP POST of the envelope);
4. once acknowledged: with one consumer, delete the objects (nothing else needs them, and no
   position is kept); with several, store the consumer's position, then delete the objects
   every consumer's position covers (:meth:`Delivery.collect`). At-least-once: a crash between
   3 and 4 sends them again; receivers deduplicate by event id, as the Index does.

Index failures: ``IndexUnavailable`` (network, 5xx) and ``RegistryCredentialRejected`` keep
every event and back off exponentially, ``interval * 2**failures`` up to ``max_backoff``;
``EventsRejected`` (the Index says the envelope is invalid, retrying cannot help) splits the
batch and sends its events one by one, so that only the events refused on their own are
written to ``/wharf/outbox-dead/`` (logged with their ids), never blocking the others. Events
the Index acknowledged but refused to apply (its answer's ``refused`` list: a namespace this
registry does not serve, say) are logged at WARNING with the Index's reason. An outbox object
that does not load is moved to the dead letters whole (for every consumer). Endpoint failures
follow the endpoint's ``threshold`` and ``backoff`` (see :mod:`.endpoint`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from wharf_protocol.client import (
    EventsRejected,
    IndexClient,
    IndexUnavailable,
    RegistryCredentialRejected,
)
from wharf_protocol.events import Event, EventsInvalid

from .. import metrics
from ..endpoints_config import EndpointConfig
from ..storage.base import PathNotFound, StorageError
from .endpoint import EndpointConsumer
from .outbox import Outbox, Position

logger = logging.getLogger(__name__)

LEASE_SECONDS = 60.0
RETRYABLE = (IndexUnavailable, RegistryCredentialRejected, StorageError)
Loaded = list[tuple[str, list[Event]]]


def backoff(failures: int, interval: float, cap: float) -> float:
    """The wait after ``failures`` failed attempts in a row: ``interval * 2**failures``,
    capped at ``cap`` (the outbox delivery and the pull counter's flusher back off alike)."""
    return min(cap, interval * 2 ** min(failures, 32))


class Consumer(Protocol):
    """What a lane delivers to. ``name`` names its position object; ``retryable`` are the
    errors that keep its events for a later pass (logged, no traceback)."""

    name: str
    retryable: tuple[type[BaseException], ...]

    def deliver(self, loaded: Loaded) -> None:
        """Deliver the events of ``loaded`` (path, events) or raise, keeping them all."""

    def delay(self, failures: int) -> float:
        """Return the wait after ``failures`` consecutive failures."""

    def failed(self, exc: BaseException, failures: int, delay: float, lane: Lane) -> None:
        """Log a retryable failure."""

    def recovered(self, failures: int) -> None:
        """Log the first success after ``failures`` failures."""


class IndexConsumer:
    """The Wharf Index: posts envelopes with ``IndexClient.post_events``."""

    name = "index"
    retryable = RETRYABLE

    def __init__(
        self, outbox: Outbox, client: IndexClient, interval: float, max_backoff: float
    ) -> None:
        self.outbox, self.client = outbox, client
        self.interval, self.max_backoff = interval, max_backoff

    def deliver(self, loaded: Loaded) -> None:
        events = [event for _, batch in loaded for event in batch]
        try:
            self._log_refusals(events, self.client.post_events(events))
        except EventsRejected as exc:
            self._one_by_one(loaded, exc)
            return
        metrics.events_acknowledged(event.timestamp for event in events)

    def _one_by_one(self, loaded: Loaded, exc: EventsRejected) -> None:
        """Send each event alone after a rejected batch; bury those refused on their own."""
        if sum(len(events) for _, events in loaded) == 1:
            self._bury(loaded[0][0], loaded[0][1], exc)
            return
        logger.warning("the Index rejected a batch of events (%s); sending them one by one", exc)
        for path, events in loaded:
            refused = []
            for event in events:
                try:
                    self._log_refusals([event], self.client.post_events([event]))
                    metrics.events_acknowledged([event.timestamp])
                except EventsRejected as one:
                    refused.append(event)
                    exc = one
            if refused:
                self._bury(path, refused, exc)

    @staticmethod
    def _log_refusals(events: list[Event], refusals) -> None:
        """Log the events the Index acknowledged without applying them (never resent)."""
        by_id = {event.id: event for event in events}
        for event_id, reason in refusals or ():
            event = by_id.get(event_id)
            what = f"{event.action} {event.target.repository}" if event else "unknown event"
            logger.warning("the Index refused event %s (%s): %s", event_id, what, reason)

    def _bury(self, path: str, events: list[Event], exc: EventsRejected) -> None:
        for event in events:
            logger.error(
                "the Index rejected event %s (%s %s): %s; moved to the dead letters",
                event.id,
                event.action,
                event.target.repository,
                exc,
            )
        self.outbox.bury(path, events)

    def delay(self, failures: int) -> float:
        """``interval * 2**failures``, capped at ``max_backoff``."""
        return backoff(failures, self.interval, self.max_backoff)

    def failed(self, exc: BaseException, failures: int, delay: float, lane: Lane) -> None:
        logger.warning(
            "event delivery failed (%s: %s); events kept, retry %d in %.1f s",
            type(exc).__name__,
            exc,
            failures,
            delay,
        )

    def recovered(self, failures: int) -> None:
        logger.info("event delivery recovered after %d failed attempts", failures)


class Lane:
    """One consumer's passes over the shared outbox: its position, failures and thread."""

    def __init__(self, delivery: Delivery, consumer: Consumer) -> None:
        self.delivery, self.consumer = delivery, consumer
        self.failures = 0
        self.more = False  # the last pass left events behind: go on without waiting
        self.position = Position()
        self.thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Deliver one batch; return how many events this consumer is done with.

        Raises the consumer's retryable errors with every undelivered event kept.
        """
        d, outbox = self.delivery, self.delivery.outbox
        self.more = False
        if not d.holds(self):  # another replica may have moved it meanwhile: re-read
            self.position = Position() if d.sole else outbox.position(self.consumer.name)
        listed_at = datetime.now(UTC)
        paths = outbox.pending(d.batch, self.position)
        if not paths:
            d.done_with_lease(self)
            return 0
        if not d.take_lease(self):
            logger.debug("event delivery: another replica holds the outbox lease")
            return 0
        loaded, consumed = self._load(paths)
        self.consumer.deliver(loaded)
        if d.sole:
            for path, _ in loaded:
                outbox.remove(path)
        else:
            names = [path.rsplit("/", 1)[-1] for path in paths[:consumed]]
            position = self.position.advance(names, listed_at)
            outbox.save_position(self.consumer.name, position)
            self.position = position
            d.collect()
        count = sum(len(events) for _, events in loaded)
        logger.debug("event delivery to %s: %d events handled", self.consumer.name, count)
        self.more = consumed < len(paths) or len(paths) == d.batch
        if not self.more:
            d.done_with_lease(self)
        return count

    def _load(self, paths: list[str]) -> tuple[Loaded, int]:
        """Load objects until ``batch`` events; return them and how many paths were used."""
        outbox, batch = self.delivery.outbox, self.delivery.batch
        loaded, count = [], 0
        for used, path in enumerate(paths, 1):
            try:
                events = outbox.load(path)
            except PathNotFound:
                continue  # delivered by another replica, or collected, meanwhile
            except EventsInvalid as exc:
                logger.error(
                    "outbox object %s is unreadable, moved to the dead letters: %s", path, exc
                )
                outbox.bury(path)
                continue
            loaded.append((path, events))
            count += len(events)
            if count >= batch:
                return loaded, used
        return loaded, len(paths)

    def backlog(self, limit: int = 10000) -> tuple[int, str]:
        """Return (objects this consumer has not delivered, up to ``limit``; the oldest name)."""
        paths = self.delivery.outbox.pending(limit, self.position)
        return len(paths), (paths[0].rsplit("/", 1)[-1] if paths else "")

    def step(self) -> float:
        """Run one pass, handling failures; return the seconds to wait before the next one."""
        try:
            self.run_once()
        except self.consumer.retryable as exc:
            self.delivery.done_with_lease(self)  # waiting holds no lease: others may try
            self.failures += 1
            delay = self.consumer.delay(self.failures)
            self.consumer.failed(exc, self.failures, delay, self)
            return delay
        except Exception:  # noqa: BLE001 - the loop must survive any bug; it logs it
            self.delivery.done_with_lease(self)
            self.failures += 1
            delay = max(self.consumer.delay(self.failures), self.delivery.interval)
            logger.exception(
                "event delivery crashed (%s); events kept, retry in %.1f s",
                self.consumer.name,
                delay,
            )
            return delay
        if self.failures:
            self.consumer.recovered(self.failures)
            self.failures = 0
        return 0.0 if self.more else self.delivery.interval


class Delivery:
    """Move events from the outbox to every consumer; see the module docstring.

    ``client`` is the Index's (None: no Index), ``endpoints`` the enabled notification
    endpoints. Tests drive :meth:`run_once` and :meth:`step`, which run every lane once.
    """

    def __init__(
        self,
        outbox: Outbox,
        client: IndexClient | None = None,
        *,
        endpoints: Sequence[EndpointConfig] = (),
        batch: int = 100,
        interval: float = 1.0,
        max_backoff: float = 60.0,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.outbox = outbox
        self.batch, self.interval, self.max_backoff = batch, interval, max_backoff
        self.lease_seconds = lease_seconds
        consumers: list[Consumer] = []
        if client is not None:
            consumers.append(IndexConsumer(outbox, client, interval, max_backoff))
        consumers += [EndpointConsumer(endpoint) for endpoint in endpoints]
        if not consumers:
            raise ValueError("event delivery needs the Index or an endpoint")
        self.lanes = [Lane(self, consumer) for consumer in consumers]
        self.sole = len(self.lanes) == 1
        self.owner = self._new_owner()
        self._holding: set[Lane] = set()
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    # -- every lane at once (tests) ---------------------------------------------------------

    def run_once(self) -> int:
        """Run one pass of every lane; return the events they handled in all."""
        return sum(lane.run_once() for lane in self.lanes)

    def step(self) -> float:
        """Run one step of every lane; return the shortest wait they asked for."""
        return min(lane.step() for lane in self.lanes)

    def lane(self, name: str) -> Lane:
        """Return the lane of consumer ``name`` (``index``, ``endpoint-<name>``)."""
        return next(lane for lane in self.lanes if lane.consumer.name == name)

    @property
    def failures(self) -> int:
        """Consecutive failures of the first lane (the Index's when it is configured)."""
        return self.lanes[0].failures

    # -- the lease and the collection ---------------------------------------------------------

    def holds(self, lane: Lane) -> bool:
        with self._lock:
            return lane in self._holding

    def take_lease(self, lane: Lane) -> bool:
        """Take or renew the outbox lease for this process on behalf of ``lane``."""
        with self._lock:
            taken = self.outbox.acquire(self.owner, self.lease_seconds)
            if taken:
                self._holding.add(lane)
            else:
                self._holding.discard(lane)
            return taken

    def done_with_lease(self, lane: Lane) -> None:
        """``lane`` has nothing more: give the lease up once no lane of this process has."""
        with self._lock:
            if lane not in self._holding:
                return
            self._holding.discard(lane)
            if not self._holding:
                try:
                    self.outbox.release(self.owner)
                except StorageError as exc:  # it expires by itself
                    logger.debug("event delivery: the outbox lease was not released: %s", exc)

    def collect(self) -> int:
        """Delete the oldest objects every consumer has delivered; return how many.

        Positions are read from storage (what each consumer stored is what it delivered);
        the walk stops at the first object one of them still needs.
        """
        positions = [self.outbox.position(lane.consumer.name) for lane in self.lanes]
        removed = 0
        for path in self.outbox.pending(self.batch):
            name = path.rsplit("/", 1)[-1]
            if not all(position.covers(name) for position in positions):
                break
            self.outbox.remove(path)
            removed += 1
        return removed

    # -- the threads --------------------------------------------------------------------------

    def ensure_started(self) -> None:
        """Start this process's delivery threads if they are not running (cheap when they are)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self.owner = self._new_owner()
            self._holding = set()
            self._stop = threading.Event()
            for lane in self.lanes:
                lane.thread = threading.Thread(
                    target=self._loop,
                    args=(lane, self._stop),
                    name=f"wharf-event-delivery-{lane.consumer.name}",
                    daemon=True,
                )
                lane.thread.start()
            self._pid = os.getpid()
            logger.info(
                "event delivery started (owner %s; consumers %s)",
                self.owner,
                ", ".join(lane.consumer.name for lane in self.lanes),
            )

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the delivery threads (tests, orderly shutdown)."""
        self._stop.set()
        for lane in self.lanes:
            if lane.thread is not None:
                lane.thread.join(timeout)
        self._pid = None

    @staticmethod
    def _loop(lane: Lane, stop: threading.Event) -> None:
        while not stop.is_set():
            stop.wait(lane.step())

    @staticmethod
    def _new_owner() -> str:
        return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def events_client(base_url: str, name: str, credential: str, **tls) -> IndexClient:
    """Return the IndexClient for deliveries: no inner retries (the loop backs off).

    ``tls``: IndexClient's ``verify`` and ``cert``."""
    return IndexClient(base_url, name, credential, timeout=(3.05, 15.0), retries=0, **tls)
