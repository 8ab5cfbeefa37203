"""Online garbage collection: mark what manifests reference, sweep the rest, purge old uploads.

Runs while the registry serves pushes (no read-only mode); the protocol that makes this safe
is in ``content/liveness.py`` (the push side) and here (the sweep side), and the argument in
docs/garbage-collection.md. In short:

1. Take the lease (``/wharf/gc/lease.json``: one collection at a time), write
   ``/wharf/gc/run.json`` and take its mtime as T0: the storage's clock, not this host's.
2. Mark: every manifest revision of every repository (listed after T0), its config, layers,
   index children and subject. The marked set holds 64-bit digest prefixes in a sorted
   ``array('Q')`` (8 bytes a blob): a prefix shared by two digests can only keep a blob that
   could have gone, never delete a referenced one. With ``delete_untagged``, the tags of each
   repository are read first and only live revisions (``content/liveness.RevisionGraph``)
   and those used within the grace window are marked; each other one is deleted by the same
   condemned protocol as a blob (its last use: the newer of its link's, its data's and its
   touch marker's mtimes), through the manifest delete's own code, with a ``delete`` event.
   What it referenced is left unmarked, so this run's sweep frees it.
3. Sweep ``blobs/`` page by page. A blob not marked whose last use (newer of its data's and
   its touch marker's mtime) is older than T0 - grace is condemned: write its condemned
   marker, re-read its last use, delete the data only if it is still old, then drop the
   marker.
4. Purge upload sessions started (``startedat``, else the directory's mtime) before
   T0 - uploads-older-than, and touch markers older than T0 - grace.
5. Write the summary to ``/wharf/gc/last-run.json``.
"""

from __future__ import annotations

import bisect
import heapq
import json
import logging
import socket
import threading
import time
import uuid
from array import array
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from wharf_protocol.digests import Digest, DigestInvalid
from wharf_protocol.events import DELETE

from .content import Content, paths
from .content.errors import ManifestUnknown
from .content.liveness import Revision, RevisionGraph
from .content.validation import ParsedManifest, parse_manifest
from .events import Emitter, NullSink
from .settings import Settings
from .storage.base import FileInfo, PathNotFound, StorageDriver

logger = logging.getLogger(__name__)

PAGE = 1000
LEASE_SECONDS = 600.0
BLOBS = f"{paths.ROOT}/blobs"
#: ``actor.name`` of the events of what a collection deletes: no user did it. The Index
#: reserves the name, so it never resolves to one of its users.
GC_ACTOR = "system"


class GcRefused(ValueError):
    """The collection cannot run safely as asked (bad windows, or another one holds the lease)."""


@dataclass(frozen=True)
class GcOptions:
    """What one run does; durations in seconds (``Settings.gc_*`` and the CLI fill them)."""

    dry_run: bool = False
    delete_untagged: bool = False
    grace: float = 3600.0
    uploads_older_than: float = 86400.0
    touch_after: float = 1800.0
    push_deadline: float = 60.0
    clock_skew: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> GcOptions:
        """Return the options REGISTRY_GC_* give, with ``overrides`` (None: keep the setting)."""
        values = {
            "delete_untagged": settings.gc_delete_untagged,
            "grace": settings.gc_grace,
            "uploads_older_than": settings.gc_uploads_older_than,
            "touch_after": settings.gc_touch_after,
            "push_deadline": settings.gc_push_deadline,
            "clock_skew": settings.gc_clock_skew,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def check(self) -> None:
        """GcRefused unless grace > touch_after + push_deadline + clock_skew (the proof's bound)."""
        needed = self.touch_after + self.push_deadline + self.clock_skew
        if self.grace <= needed:
            raise GcRefused(
                f"grace {self.grace:g} s must exceed touch-after + push deadline + clock skew "
                f"({self.touch_after:g} + {self.push_deadline:g} + {self.clock_skew:g} s): "
                "a shorter grace could delete a blob a push is about to reference"
            )


@dataclass
class GcSummary:
    """The result of a run; ``as_json`` is what ``/wharf/gc/last-run.json`` holds."""

    started_at: str = ""
    finished_at: str = ""
    dry_run: bool = False
    blobs_deleted: int = 0
    manifests_deleted: int = 0
    bytes_freed: int = 0
    uploads_purged: int = 0
    blobs_marked: int = 0
    # progress only (not in last-run.json)
    manifests_seen: int = field(default=0, repr=False)
    blobs_seen: int = field(default=0, repr=False)

    def as_json(self) -> dict:
        """The keys other components read (metrics): exactly these, no more."""
        data = asdict(self)
        del data["manifests_seen"], data["blobs_seen"]
        return data


class MarkedSet:
    """A compact set of digests: sorted 64-bit prefixes, membership by bisection.

    Adds are buffered and merged in batches (linear merges of two sorted arrays), so a
    million digests take about 8 MB. Two digests sharing their first 16 hex digits are the
    same entry: a collision keeps a blob, it never deletes one.
    """

    def __init__(self, batch: int = 1 << 16) -> None:
        self._sorted = array("Q")
        self._pending: set[int] = set()
        self._batch = batch

    @staticmethod
    def key(digest: Digest) -> int:
        return int(digest.hex[:16], 16)

    def add(self, digest: Digest) -> None:
        self.add_key(self.key(digest))

    def add_key(self, key: int) -> None:
        self._pending.add(key)
        if len(self._pending) >= self._batch:
            self._merge()

    def __contains__(self, digest: Digest) -> bool:
        self._merge()
        key = self.key(digest)
        i = bisect.bisect_left(self._sorted, key)
        return i < len(self._sorted) and self._sorted[i] == key

    def __len__(self) -> int:
        self._merge()
        return len(self._sorted)

    def _merge(self) -> None:
        if not self._pending:
            return
        merged, last = array("Q"), None
        for value in heapq.merge(self._sorted, sorted(self._pending)):
            if value != last:
                merged.append(value)
                last = value
        self._sorted, self._pending = merged, set()


class Lease:
    """Best-effort mutual exclusion of collections through ``/wharf/gc/lease.json``.

    Storage offers no compare-and-swap: write, read back, and own it if the read shows us
    (as the event outbox's lease does). Renewed while the run goes on; a crashed holder's
    lease expires after ``seconds``.
    """

    def __init__(self, driver: StorageDriver, seconds: float = LEASE_SECONDS) -> None:
        self.driver = driver
        self.seconds = seconds
        self.owner = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self._renewed = 0.0

    def acquire(self) -> bool:
        current = self._read()
        now = time.time()
        if current and current.get("owner") != self.owner and current.get("expires", 0) > now:
            return False
        lease = {"owner": self.owner, "expires": now + self.seconds}
        self.driver.put_content(paths.GC_LEASE, json.dumps(lease).encode())
        self._renewed = time.monotonic()
        current = self._read()
        return bool(current) and current.get("owner") == self.owner

    def renew(self) -> None:
        """Extend the lease when a third of it has passed; GcRefused if another took it."""
        if time.monotonic() - self._renewed > self.seconds / 3 and not self.acquire():
            raise GcRefused("another garbage collection took the lease; stopping")

    def release(self) -> None:
        current = self._read()
        if current and current.get("owner") == self.owner:
            try:
                self.driver.delete(paths.GC_LEASE)
            except PathNotFound:
                pass

    def _read(self) -> dict | None:
        try:
            value = json.loads(self.driver.get_content(paths.GC_LEASE))
        except (PathNotFound, ValueError, UnicodeDecodeError):
            return None
        return value if isinstance(value, dict) else None


class Collector:
    """One garbage collection over a driver; ``run()`` returns the summary.

    ``events`` receives the ``delete`` event of each manifest deleted (``delete_untagged``):
    the serving registry's Emitter on the schedule, ``events.emitter.outbox_emitter`` in the
    command; without one they are dropped.
    """

    def __init__(
        self,
        driver: StorageDriver,
        options: GcOptions,
        progress: Callable[[str, GcSummary], None] | None = None,
        page: int = PAGE,
        events: Emitter | None = None,
    ) -> None:
        self.driver = driver
        self.options = options
        self.progress = progress or (lambda phase, summary: None)
        self.page = page
        self.events = events or Emitter(NullSink())
        self.content = Content(driver)
        self.summary = GcSummary(dry_run=options.dry_run)
        self.marked = MarkedSet()
        self.lease = Lease(driver)

    def run(self) -> GcSummary:
        """Mark, sweep, purge; GcRefused before touching anything if it cannot run safely."""
        self.options.check()
        if not self.lease.acquire():
            raise GcRefused("another garbage collection holds the lease (/wharf/gc/lease.json)")
        try:
            t0 = self._start()
            self.summary.started_at = _iso(t0)
            self._drop_stale_condemned(t0)
            cutoff = t0 - timedelta(seconds=self.options.grace)
            for name in self._repositories(paths.REPOSITORIES, ""):
                if self.options.delete_untagged:
                    self._mark_tagged(name, cutoff)
                else:
                    self._mark(name)
                self._purge_uploads(name, t0 - timedelta(seconds=self.options.uploads_older_than))
                self.lease.renew()
            self.summary.blobs_marked = len(self.marked)
            self._sweep(cutoff)
            self._drop_old_touches(cutoff)
            self.summary.finished_at = _iso(datetime.now(UTC))
            self.driver.put_content(
                paths.GC_LAST_RUN, json.dumps(self.summary.as_json(), sort_keys=True).encode()
            )
        finally:
            self.lease.release()
        self.progress("done", self.summary)
        return self.summary

    # -- phases --------------------------------------------------------------------------

    def _start(self) -> datetime:
        """Write run.json and return its mtime: T0 on the storage's clock."""
        run = {"owner": self.lease.owner, "dry_run": self.options.dry_run}
        self.driver.put_content(paths.GC_RUN, json.dumps(run).encode())
        return self.driver.stat(paths.GC_RUN).modified

    def _repositories(self, path: str, name: str) -> Iterator[str]:
        """Yield every repository under ``path`` (a directory holding ``_`` children)."""
        children = [paths.basename(c) for c in self._list_all(path)]
        if name and any(c.startswith("_") for c in children):
            yield name
        for child in children:
            if not child.startswith("_"):
                yield from self._repositories(f"{path}/{child}", f"{name}/{child}".lstrip("/"))

    def _revisions(self, name: str) -> Iterator[Digest]:
        """Yield every manifest revision of ``name`` (paged listings)."""
        for alg_dir in self._list_all(f"{paths.manifests(name)}/revisions"):
            for revision in self._list_all(alg_dir):
                digest = _digest(alg_dir, revision)
                if digest is not None:
                    yield digest

    def _mark(self, name: str) -> None:
        """Mark every revision of ``name`` and everything it references."""
        for digest in self._revisions(name):
            self._seen()
            self.marked.add(digest)
            for ref in _references(self._read(name, digest)):
                self.marked.add(ref)

    def _mark_tagged(self, name: str, cutoff: datetime) -> None:
        """Mark the live revisions of ``name`` and those used since ``cutoff``; delete the
        others (docs/garbage-collection.md, "Deleting untagged manifests").

        Tags are read before revisions are listed: a tag seen points at a revision linked
        before the listing, so the listing holds it.
        """
        tagged = self._tagged(name)
        graph = RevisionGraph()
        for digest in self._revisions(name):
            self._seen()
            manifest = self._read(name, digest)
            keys = array("Q", (MarkedSet.key(d) for d in _references(manifest)))
            children = tuple(r.digest for r in manifest.children) if manifest else ()
            subject = manifest.subject if manifest else None
            graph.add(digest, Revision(children, subject, keys))
        live = graph.live(tagged)
        # a revision used within the grace window keeps what it names, as a tag would
        recent = [d for d in graph.revisions if d not in live and self._recent(name, d, cutoff)]
        graph.live(recent, live)
        for digest, revision in graph.revisions.items():
            if digest in live or not self._delete_revision(name, digest, revision, cutoff):
                self.marked.add(digest)
                for key in revision.references:
                    self.marked.add_key(key)

    def _tagged(self, name: str) -> set[Digest]:
        """Return the digests the tags of ``name`` point at now."""
        found = set()
        for tag_dir in self._list_all(paths.tags(name)):
            try:
                found.add(self.content.tags.resolve(name, paths.basename(tag_dir)))
            except ManifestUnknown:
                continue  # deleted meanwhile, or a broken link: it keeps nothing
        return found

    def _delete_revision(
        self, name: str, digest: Digest, revision: Revision, cutoff: datetime
    ) -> bool:
        """Delete revision ``digest`` of ``name`` if its last use is before ``cutoff``, by the
        condemned protocol (its manifest's marker); False if it is kept. The caller found it
        not live and not recent."""
        if self.options.dry_run:
            self.summary.manifests_deleted += 1
            return True
        marker = paths.condemned_marker(digest)
        self.driver.put_content(marker, b"")
        try:
            if self._recent(name, digest, cutoff):  # re-read AFTER the marker is visible
                return False
            if self.content.manifests.unlink(name, digest, revision.subject):
                # written before the marker goes: a push it held back links (and announces)
                # the manifest again only after this event
                self.events.emit(DELETE, repository=name, digest=str(digest), actor=GC_ACTOR)
                self.summary.manifests_deleted += 1
                logger.info("untagged manifest %s of %s deleted", digest, name)
            return True
        finally:
            self._delete_quietly(marker)

    def _recent(self, name: str, digest: Digest, cutoff: datetime) -> bool:
        """Tell whether revision ``digest`` of ``name`` was used at or after ``cutoff``: the
        newer of its link's mtime (pushes rewrite it), its data's (pushes rewrite the body)
        and its touch marker's (an index push relying on it). A revision gone is not."""
        link = self._stat(paths.revision_link(name, digest))
        if link is None:
            return False
        data = self._stat(paths.blob_data(digest))
        last = max(link.modified, self._last_use(digest, data)) if data else link.modified
        return last >= cutoff

    def _seen(self) -> None:
        self.summary.manifests_seen += 1
        if self.summary.manifests_seen % self.page == 0:
            self.progress("mark", self.summary)

    def _read(self, name: str, digest: Digest) -> ParsedManifest | None:
        try:
            return parse_manifest(self.driver.get_content(paths.blob_data(digest)), None)
        except PathNotFound:
            logger.warning("manifest %s of %s has no data; nothing to mark", digest, name)
        except Exception:  # noqa: BLE001 - a stored manifest that no longer parses marks nothing
            logger.warning("manifest %s of %s does not parse; marking it alone", digest, name)
        return None

    def _sweep(self, cutoff: datetime) -> None:
        for alg_dir in self._list_all(BLOBS):
            for fanout in self._list_all(alg_dir):
                for blob in self._list_all(fanout):
                    digest = _digest(alg_dir, blob)
                    self.summary.blobs_seen += 1
                    if digest is not None and digest not in self.marked:
                        self._consider(digest, cutoff)
                    if self.summary.blobs_seen % self.page == 0:
                        self.progress("sweep", self.summary)
                        self.lease.renew()

    def _consider(self, digest: Digest, cutoff: datetime) -> None:
        """Delete ``digest`` if its last use is before ``cutoff``, by the condemned protocol."""
        data = self._stat(paths.blob_data(digest))
        if data is None or self._last_use(digest, data) >= cutoff:
            return
        if self.options.dry_run:
            self._freed(data)
            return
        marker = paths.condemned_marker(digest)
        self.driver.put_content(marker, b"")
        try:
            data = self._stat(paths.blob_data(digest))  # re-read AFTER the marker is visible
            if data is None or self._last_use(digest, data) >= cutoff:
                return
            self.driver.delete(paths.blob_dir(digest))
            self._freed(data)
            self._delete_quietly(paths.touch_marker(digest))
        finally:
            self._delete_quietly(marker)

    def _last_use(self, digest: Digest, data: FileInfo) -> datetime:
        touched = self._stat(paths.touch_marker(digest))
        return max(data.modified, touched.modified) if touched else data.modified

    def _freed(self, data: FileInfo) -> None:
        self.summary.blobs_deleted += 1
        self.summary.bytes_freed += data.size

    def _purge_uploads(self, name: str, cutoff: datetime) -> None:
        for session in self._list_all(f"{paths.repository(name)}/_uploads"):
            started = self._started(session)
            if started is None or started >= cutoff:
                continue
            if not self.options.dry_run:
                self._delete_quietly(session)
            self.summary.uploads_purged += 1

    def _started(self, session: str) -> datetime | None:
        try:
            raw = self.driver.get_content(f"{session}/startedat").decode()
            started = datetime.fromisoformat(raw.strip())
            return started if started.tzinfo else started.replace(tzinfo=UTC)
        except (PathNotFound, ValueError, UnicodeDecodeError):
            info = self._stat(session)
            return info.modified if info else None

    def _drop_stale_condemned(self, t0: datetime) -> None:
        """Remove condemned markers a crashed run left (they would stall pushes of the blob)."""
        if self.options.dry_run:
            return
        for info in self._walk(paths.GC_CONDEMNED):
            if info.modified < t0 - timedelta(seconds=self.options.clock_skew):
                self._delete_quietly(info.path)

    def _drop_old_touches(self, cutoff: datetime) -> None:
        """Touch markers older than the grace window protect nothing any more."""
        if self.options.dry_run:
            return
        for info in self._walk(paths.GC_TOUCHED):
            if info.modified < cutoff:
                self._delete_quietly(info.path)

    # -- storage helpers -----------------------------------------------------------------

    def _list_all(self, path: str) -> Iterator[str]:
        """Yield the children of ``path`` page by page (nothing if it does not exist)."""
        last = None
        while True:
            try:
                page = self.driver.list(path, start_after=last, limit=self.page)
            except PathNotFound:
                return
            yield from page
            if len(page) < self.page:
                return
            last = page[-1]

    def _walk(self, path: str) -> Iterator[FileInfo]:
        try:
            yield from self.driver.walk(path)
        except PathNotFound:
            return

    def _stat(self, path: str) -> FileInfo | None:
        try:
            return self.driver.stat(path)
        except PathNotFound:
            return None

    def _delete_quietly(self, path: str) -> None:
        try:
            self.driver.delete(path)
        except PathNotFound:
            pass


class Schedule:
    """Run a collection every ``interval`` seconds in a daemon thread of a serving process.

    Every replica may run one; the lease lets one collect at a time, the others skip.
    """

    def __init__(
        self,
        driver: StorageDriver,
        options: GcOptions,
        interval: float,
        record: Callable[[dict], object] | None = None,
        events: Emitter | None = None,
    ) -> None:
        self.driver = driver
        self.options = options
        self.interval = interval
        self.record = record  # called with each finished run's summary (the Index's audit)
        self.events = events  # the serving registry's: manifests deleted are announced
        self._started = False
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def ensure_started(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._loop, name="wharf-gc", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                summary = Collector(self.driver, self.options, events=self.events).run()
                logger.info("garbage collection: %s", json.dumps(summary.as_json()))
                if self.record is not None:
                    self.record(summary.as_json())
            except GcRefused as exc:
                logger.info("garbage collection skipped: %s", exc)
            except Exception:  # noqa: BLE001 - the schedule must outlive one failed run
                logger.exception("garbage collection failed")


def _references(manifest: ParsedManifest | None) -> list[Digest]:
    """Every digest ``manifest`` references: config, layers, children, optional, subject."""
    if manifest is None:
        return []
    refs = [r.digest for r in (*manifest.blobs, *manifest.children, *manifest.optional)]
    return refs + ([manifest.subject] if manifest.subject is not None else [])


def _digest(alg_dir: str, entry: str) -> Digest | None:
    try:
        return Digest.parse(f"{paths.basename(alg_dir)}:{paths.basename(entry)}")
    except DigestInvalid:
        return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
