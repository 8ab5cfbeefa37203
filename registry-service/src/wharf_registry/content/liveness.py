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

:class:`RevisionGraph` holds the rules of which manifest revisions of a repository are
*live* when a collection deletes untagged ones (``--delete-untagged``): what a tag points
at, every child of a live index and every referrer of a live subject, transitively, and
whatever the collector adds as a root (a revision used within its grace window).
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Revision:
    """What the collector keeps of one revision: the manifests it names (an index's
    children), its subject, and the 64-bit keys (``key``) of every digest it references."""

    children: tuple[Digest, ...] = ()
    subject: Digest | None = None
    references: array = field(default_factory=lambda: array("Q"))


class RevisionGraph:
    """The manifest revisions of one repository and the edges that keep one alive.

    ``live(roots)`` grows a set of live revisions from ``roots`` (the digests tags point at,
    then any revision the collector finds recently used): a live index keeps its children,
    a live manifest keeps its referrers (manifests whose ``subject`` it is), transitively.
    A root or child that is not a revision of the repository keeps nothing.
    """

    def __init__(self) -> None:
        self.revisions: dict[Digest, Revision] = {}
        self._referrers: dict[Digest, list[Digest]] = {}

    def add(self, digest: Digest, revision: Revision) -> None:
        self.revisions[digest] = revision
        if revision.subject is not None:
            self._referrers.setdefault(revision.subject, []).append(digest)

    def live(self, roots: Iterable[Digest], live: set[Digest] | None = None) -> set[Digest]:
        """Return ``live`` (a new set by default) grown by ``roots`` and what they keep."""
        live = set() if live is None else live
        todo = [d for d in roots if d in self.revisions]
        while todo:
            digest = todo.pop()
            if digest in live:
                continue
            live.add(digest)
            todo += [c for c in self.revisions[digest].children if c in self.revisions]
            todo += self._referrers.get(digest, ())
        return live
