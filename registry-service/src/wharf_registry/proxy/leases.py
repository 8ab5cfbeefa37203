"""Fetch leases: one upstream fetch of a blob at a time, across threads, workers and replicas.

Coordination goes through storage only (docs/pull-through-cache.md has the argument):

- ``/wharf/proxy/fetches/<alg>/<hex>/<attempt>`` is a lease. A fetcher takes attempt ``n``
  with the driver's exclusive :meth:`~wharf_registry.storage.base.StorageDriver.create`
  (``O_EXCL``-like link on disk, ``If-None-Match: *`` on S3), so of any number of
  processes trying attempt ``n`` exactly one wins. Taking one never deletes or overwrites
  another's lease: there is no window in which two take the same attempt.
- The holder rewrites its lease with a growing ``beat`` every ``renew_every`` seconds while
  bytes arrive. A waiter judges it by its own monotonic clock: a lease whose content has not
  changed for ``dead_after`` seconds is dead (its fetcher crashed, hung, or lost its
  upstream), and the waiter tries attempt ``n + 1``. No clocks are compared across hosts.
- The holder deletes the directory when it is done, committed or not. Waiters poll for the
  blob's data; when the data is there they serve it, and when the directory is gone without
  data (the fetch failed) they try attempt 0 again, one of them winning.

What can happen at worst is a second fetch (a live but slow holder judged dead, or a waiter
starting over after a failed fetch), never a wrong or partial blob: every fetcher verifies
the digest before its commit, and commits of one digest carry the same bytes.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator

from wharf_protocol.digests import Digest

from ..content import paths
from ..storage.base import PathNotFound, StorageDriver

logger = logging.getLogger(__name__)

RENEW_EVERY = 2.0
DEAD_AFTER = 15.0
POLL = 0.05
FIRST_POLL = 0.005  # waits start short (a small blob commits within milliseconds), then grow
MAX_WAIT = 1800.0  # a waiter gives up after this, whatever the leases say


class FetchWaitTooLong(Exception):
    """A waiter waited ``MAX_WAIT`` for another fetch of a blob (always live, never done)."""


class Lease:
    """A held fetch lease; ``renew()`` while bytes arrive, ``release()`` at the end."""

    def __init__(self, leases: FetchLeases, digest: Digest, attempt: int) -> None:
        self._leases = leases
        self.digest = digest
        self.attempt = attempt
        self._beat = 0
        self._renewed = leases.monotonic()

    def renew(self) -> None:
        """Show progress (at most every ``renew_every`` seconds; cheap to call per chunk)."""
        now = self._leases.monotonic()
        if now - self._renewed < self._leases.renew_every:
            return
        self._beat += 1
        self._renewed = now
        path = paths.fetch_lease(self.digest, self.attempt)
        self._leases.driver.put_content(path, self._leases.record(self._beat))

    def release(self) -> None:
        """End the fetch, committed or not: waiters then find the data, or start over."""
        try:
            self._leases.driver.delete(paths.fetch_leases(self.digest))
        except PathNotFound:
            pass
        except Exception:  # noqa: BLE001 - a lease left behind only delays waiters
            logger.warning("fetch lease of %s not released", self.digest, exc_info=True)


class FetchLeases:
    """Take fetch leases over ``driver``, or wait for another holder's result."""

    def __init__(
        self,
        driver: StorageDriver,
        *,
        renew_every: float = RENEW_EVERY,
        dead_after: float = DEAD_AFTER,
        poll: float = POLL,
        max_wait: float = MAX_WAIT,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.driver = driver
        self.renew_every = renew_every
        self.dead_after = dead_after
        self.poll = poll
        self.max_wait = max_wait
        self.monotonic = monotonic
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def record(self, beat: int) -> bytes:
        """The content of a lease: who holds it, and its heartbeat count."""
        thread = threading.get_ident()
        return json.dumps({"owner": f"{self.owner}:{thread}", "beat": beat}).encode()

    def take_or_wait(self, digest: Digest, present: Callable[[], bool]) -> Lease | None:
        """Return a Lease to fetch ``digest``, or None once ``present()`` (another fetch
        committed it). FetchWaitTooLong after ``max_wait`` seconds of live leases."""
        until = self.monotonic() + self.max_wait
        seen: tuple[int, bytes] | None = None  # the newest lease and its content
        changed = self.monotonic()
        delays = self._delays()
        while True:
            if present():
                return None
            latest = self._latest(digest)
            if latest is None:  # no fetch in progress: start one
                if self._take(digest, 0):
                    return self._holding(digest, 0, present)
                continue
            attempt, content = latest
            now = self.monotonic()
            if seen != latest:
                seen, changed = latest, now
            elif now - changed >= self.dead_after:
                logger.info("fetch lease %d of %s looks dead: taking over", attempt, digest)
                if self._take(digest, attempt + 1):
                    return self._holding(digest, attempt + 1, present)
                changed = now
            if now >= until:
                raise FetchWaitTooLong(f"another fetch of {digest} has not finished")
            time.sleep(next(delays))

    def _holding(self, digest: Digest, attempt: int, present: Callable[[], bool]) -> Lease | None:
        """A lease just taken; None (released) if the data arrived meanwhile."""
        lease = Lease(self, digest, attempt)
        if present():  # committed between our check and our lease: nothing to fetch
            lease.release()
            return None
        return lease

    def wait_released(self, digest: Digest, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every lease of ``digest`` to be released;
        whether they were. (A holder links the blob into its repository before it releases,
        so a waiter that found the data committed but not linked waits for that.)"""
        until = self.monotonic() + timeout
        delays = self._delays()
        while self._latest(digest) is not None:
            if self.monotonic() >= until:
                return False
            time.sleep(next(delays))
        return True

    def _delays(self) -> Iterator[float]:
        """The pauses between polls: FIRST_POLL, doubling up to ``poll``."""
        delay = min(FIRST_POLL, self.poll)
        while True:
            yield delay
            delay = min(delay * 2, self.poll)

    def _take(self, digest: Digest, attempt: int) -> bool:
        return self.driver.create(paths.fetch_lease(digest, attempt), self.record(0))

    def _latest(self, digest: Digest) -> tuple[int, bytes] | None:
        """The newest lease of ``digest`` and its content, or None when none exists."""
        try:
            names = self.driver.list(paths.fetch_leases(digest))
        except PathNotFound:
            return None
        for path in reversed(names):
            try:
                return int(paths.basename(path)), self.driver.get_content(path)
            except (PathNotFound, ValueError):
                continue
        return None
