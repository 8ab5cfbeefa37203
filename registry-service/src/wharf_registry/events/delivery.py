"""Deliver the outbox to the Index in the background (docs/architecture.md, "Events").

One daemon thread per worker process, started by :meth:`Delivery.ensure_started` on the
first request the process serves (gunicorn creates the app in each worker after the fork,
and a thread never survives a fork, so a process id check decides). Each pass
(:meth:`Delivery.run_once`):

1. list up to ``batch`` outbox objects, oldest first, and load them until ``batch`` events
   (an object holds the events of one group commit); nothing pending: done;
2. take the outbox lease (another live replica delivering: skip this pass);
3. post the events in one envelope with ``IndexClient.post_events``;
4. delete the objects once the Index acknowledged (at-least-once: a crash between 3 and 4 resends
   them, and the Index applies each event id once). Events the Index acknowledged but
   refused to apply (its answer's ``refused`` list: a namespace this registry does not
   serve, say) are logged at WARNING with the Index's reason; resending cannot change that.

Failures: ``IndexUnavailable`` (network, 5xx) and ``RegistryCredentialRejected`` keep every
event and back off exponentially, ``interval * 2**failures`` up to ``max_backoff``;
``EventsRejected`` (the Index says the envelope is invalid, retrying cannot help) splits the
batch and sends its events one by one, so that only the events refused on their own move to
``/wharf/outbox-dead/`` (logged with their ids), never blocking the others. An outbox object
that does not load is dead-lettered whole.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from wharf_protocol.client import (
    EventsRejected,
    IndexClient,
    IndexUnavailable,
    RegistryCredentialRejected,
)
from wharf_protocol.events import Event, EventsInvalid

from ..storage.base import PathNotFound, StorageError
from .outbox import Outbox

logger = logging.getLogger(__name__)

LEASE_SECONDS = 60.0
RETRYABLE = (IndexUnavailable, RegistryCredentialRejected, StorageError)


class Delivery:
    """Move events from the outbox to the Index; see the module docstring."""

    def __init__(
        self,
        outbox: Outbox,
        client: IndexClient,
        *,
        batch: int = 100,
        interval: float = 1.0,
        max_backoff: float = 60.0,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.batch, self.interval, self.max_backoff = batch, interval, max_backoff
        self.lease_seconds = lease_seconds
        self.failures = 0
        self.more = False  # the last pass left events behind: go on without waiting
        self.owner = self._new_owner()
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one pass ---------------------------------------------------------------------------

    def run_once(self) -> int:
        """Deliver one batch; return how many events left the outbox (delivered or buried).

        Raises IndexUnavailable, RegistryCredentialRejected or StorageError with every
        undelivered event kept.
        """
        self.more = False
        paths = self.outbox.pending(self.batch)
        if not paths:
            return 0
        if not self.outbox.acquire(self.owner, self.lease_seconds):
            logger.debug("event delivery: another replica holds the outbox lease")
            return 0
        loaded, consumed = self._load(paths)
        events = [event for _, batch in loaded for event in batch]
        try:
            self._log_refusals(events, self.client.post_events(events))
        except EventsRejected as exc:
            self._one_by_one(loaded, exc)
        for path, _ in loaded:
            self.outbox.remove(path)
        logger.debug("event delivery: %d events handled", len(events))
        self.more = consumed < len(paths) or len(paths) == self.batch
        if not self.more:
            self.outbox.release(self.owner)
        return len(events)

    def _load(self, paths: list[str]) -> tuple[list[tuple[str, list[Event]]], int]:
        """Load objects until ``batch`` events; return them and how many paths were used."""
        loaded, count = [], 0
        for used, path in enumerate(paths, 1):
            try:
                events = self.outbox.load(path)
            except PathNotFound:
                continue  # delivered by another replica meanwhile
            except EventsInvalid as exc:
                logger.error(
                    "outbox object %s is unreadable, moved to the dead letters: %s", path, exc
                )
                self.outbox.bury(path)
                continue
            loaded.append((path, events))
            count += len(events)
            if count >= self.batch:
                return loaded, used
        return loaded, len(paths)

    def _one_by_one(self, loaded: list[tuple[str, list[Event]]], exc: EventsRejected) -> None:
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

    # -- the loop ---------------------------------------------------------------------------

    def step(self) -> float:
        """Run one pass, handling failures; return the seconds to wait before the next one."""
        try:
            self.run_once()
        except RETRYABLE as exc:
            self.failures += 1
            delay = self.backoff(self.failures)
            logger.warning(
                "event delivery failed (%s: %s); events kept, retry %d in %.1f s",
                type(exc).__name__,
                exc,
                self.failures,
                delay,
            )
            return delay
        except Exception:  # noqa: BLE001 - the loop must survive any bug; it logs it
            self.failures += 1
            delay = self.backoff(self.failures)
            logger.exception("event delivery crashed; events kept, retry in %.1f s", delay)
            return delay
        if self.failures:
            logger.info("event delivery recovered after %d failed attempts", self.failures)
            self.failures = 0
        return 0.0 if self.more else self.interval

    def backoff(self, failures: int) -> float:
        """Return the wait after ``failures`` consecutive failures (capped at max_backoff)."""
        return min(self.max_backoff, self.interval * 2 ** min(failures, 32))

    def ensure_started(self) -> None:
        """Start the delivery thread of this process if it is not running (cheap when it is)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self.owner = self._new_owner()
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._loop, name="wharf-event-delivery", daemon=True
            )
            self._thread.start()
            self._pid = os.getpid()
            logger.info("event delivery started (owner %s)", self.owner)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the delivery thread (tests, orderly shutdown)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pid = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(self.step())

    @staticmethod
    def _new_owner() -> str:
        return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def events_client(base_url: str, name: str, credential: str, **tls) -> IndexClient:
    """Return the IndexClient for deliveries: no inner retries (the loop backs off).

    ``tls``: IndexClient's ``verify`` and ``cert``."""
    return IndexClient(base_url, name, credential, timeout=(3.05, 15.0), retries=0, **tls)
