"""The push side of online garbage collection (docs/garbage-collection.md has the proof).

The collector (``gc.py``) deletes a blob only after writing its *condemned* marker and then
re-reading its *last use*: the newer of the mtime of its data and of its *touch* marker. A
push makes the blobs it relies on safe the other way round: it touches them first, then
checks that no condemned marker exists. One of the two always sees the other:

- the push saw no marker: any sweep that condemns the blob later re-reads the touch and
  keeps it;
- the push saw a marker: it waits (at most ``wait`` seconds) for the sweep to decide, then
  checks the data is still there (``ManifestBlobUnknown`` if not, as for any missing blob).

Blobs whose data is younger than ``touch_after`` are not touched: the collector keeps
anything used within its grace window, which is longer than ``touch_after`` plus the push
deadline plus the clock-skew margin (the collector refuses to run otherwise). The deadline
(``deadline`` seconds from the start of the checks to the last write that makes content
reachable) bounds how old a touch or a stat can be when the manifest becomes visible; past
it the push stops without writing (``CollectorBusy``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from wharf_protocol.digests import Digest

from ..storage.base import PathNotFound, StorageDriver
from . import paths
from .errors import CollectorBusy

#: Defaults of REGISTRY_GC_TOUCH_AFTER and REGISTRY_GC_PUSH_DEADLINE (seconds).
TOUCH_AFTER = 30 * 60
PUSH_DEADLINE = 60.0
#: How long a push waits for a sweep to finish deciding about a blob it holds.
CONDEMNED_WAIT = 2.0
_POLL = 0.05


class Liveness:
    """Touch markers, condemned-marker checks and the push deadline over one driver."""

    def __init__(
        self,
        driver: StorageDriver,
        touch_after: float = TOUCH_AFTER,
        deadline: float = PUSH_DEADLINE,
        wait: float = CONDEMNED_WAIT,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.driver = driver
        self.touch_after = touch_after
        self.deadline = deadline
        self.wait = wait
        self._clock = clock
        self._monotonic = monotonic

    def start(self) -> Deadline:
        """Start the clock of one push; call before stat-ing what the push relies on."""
        return Deadline(self._monotonic, self.deadline)

    def is_stale(self, modified: datetime) -> bool:
        """Tell whether data written at ``modified`` must be touched before it is relied on."""
        return modified.astimezone(UTC).timestamp() < self._clock() - self.touch_after

    def touch(self, digest: Digest) -> None:
        """Record a use of ``digest`` now (the marker's mtime is the storage's clock)."""
        self.driver.put_content(paths.touch_marker(digest), b"")

    def settle(self, digests: Iterable[Digest]) -> list[Digest]:
        """After touching: wait out the sweeps condemning any of ``digests``.

        Returns the digests whose data a sweep deleted meanwhile (the push must not rely on
        them). CollectorBusy if a condemned marker outlives the wait.
        """
        gone = []
        for digest in digests:
            if not self._condemned(digest):
                continue
            self._wait_released(digest)
            try:
                self.driver.stat(paths.blob_data(digest))
            except PathNotFound:
                gone.append(digest)
        return gone

    def _condemned(self, digest: Digest) -> bool:
        try:
            self.driver.stat(paths.condemned_marker(digest))
        except PathNotFound:
            return False
        return True

    def _wait_released(self, digest: Digest) -> None:
        until = self._monotonic() + self.wait
        while self._condemned(digest):
            if self._monotonic() >= until:
                raise CollectorBusy(f"garbage collection holds {digest}; retry the push")
            time.sleep(_POLL)


class Deadline:
    """The push deadline: ``check()`` raises CollectorBusy once ``seconds`` have passed."""

    def __init__(self, monotonic: Callable[[], float], seconds: float) -> None:
        self._monotonic = monotonic
        self._until = monotonic() + seconds
        self.seconds = seconds

    def check(self) -> None:
        """Raise CollectorBusy if the deadline passed (call before each write that links)."""
        if self._monotonic() > self._until:
            raise CollectorBusy(
                f"push took longer than {self.seconds:g} s between checking its references "
                "and linking them; nothing was written, retry the push"
            )
