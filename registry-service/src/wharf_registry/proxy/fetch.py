"""One blob fetched from an upstream: sent to the client, written and hashed at once.

Three threads share the work so that a client's pull runs at the pace of the slowest of
them, not of their sum (SHA-256 alone is slower than a loopback socket on common CPUs):

- the **fetch thread** reads the upstream's body, writes each chunk to storage, renews the
  lease and hands the chunk to the client and to the hash thread (bounded queues: a slow
  client or hasher slows the upstream read, nothing piles up in memory);
- the **hash thread** hashes;
- the **request thread** (the response body, :meth:`BlobFetch.__iter__`) sends.

The client gets every chunk as soon as it is written but the last, which waits until the
whole content was hashed and its digest and length verified. A mismatch (or a short body,
or any error) cancels the write, releases the lease and raises inside the response, so
the client's connection breaks short of its last byte and nothing is committed. After the
verdict the fetch thread commits, links and releases the lease *while the response ends*:
the client's next request on its connection does not wait for the fsync, and a request
for the blob meanwhile waits on the lease and is then served from storage.

A client that leaves early does not stop the fetch: it completes and is committed, so the
requests waiting on its lease get the blob instead of starting over. At most
``MAX_UNATTENDED`` fetches per process go on without their clients; beyond that a client
leaving cancels its fetch, so clients that start fetches and hang up cannot pile up
threads and upstream connections.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import requests
from wharf_protocol.digests import Digest, Hasher

from ..content import paths
from ..content.uploads import CHUNK_SIZE
from .leases import Lease

if TYPE_CHECKING:
    from .mirror import Mirror

logger = logging.getLogger(__name__)

#: Chunks (of CHUNK_SIZE) queued for the client and for the hash thread, each at most.
QUEUE_CHUNKS = 4
#: How long the response waits for the fetch thread's next chunk before giving up (the
#: fetch thread itself gives up after the upstream's read timeout, well before).
STALL_LIMIT = 300.0
#: Fetches per process that may go on after their clients left (module doc).
MAX_UNATTENDED = 8
_POLL = 0.1
_END = object()


class _Unattended:
    """The count of fetches going on without their clients, in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def take(self) -> bool:
        with self._lock:
            if self.count >= MAX_UNATTENDED:
                return False
            self.count += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.count -= 1


UNATTENDED = _Unattended()


class FetchCancelled(Exception):
    """The client left while too many fetches went on without theirs."""


class VerificationFailed(Exception):
    """An upstream sent content whose digest or size is not what it claimed."""


class BlobFetch:
    """The response body of a blob missed in a mirrored repository (module doc).

    Iterate it once. The threads start on the first ``next()``; before that nothing was
    read, and :meth:`close` gives the lease back.
    """

    def __init__(
        self,
        mirror: Mirror,
        name: str,
        digest: Digest,
        response: requests.Response,
        lease: Lease,
    ) -> None:
        self.mirror, self.name, self.digest = mirror, name, digest
        self.response, self.lease = response, lease
        length = response.headers.get("Content-Length")
        self.size = int(length) if length and length.isdigit() else None
        self._to_client: queue.Queue = queue.Queue(QUEUE_CHUNKS)
        self._to_hasher: queue.Queue = queue.Queue(QUEUE_CHUNKS)
        self._verified = threading.Event()
        self._left = threading.Event()  # the client is gone or has everything
        self._hasher = Hasher(digest.algorithm)
        self._body: Iterator[bytes] | None = None
        self._closed = False
        self._cancelled = threading.Event()
        self._state = threading.Lock()  # orders _fetched against _unattended
        self._fetched = False  # the fetch thread is done
        self._unattended = False  # it holds a place in UNATTENDED

    def __iter__(self) -> Iterator[bytes]:
        if self._body is None:
            self._body = self._stream()
        return self._body

    def close(self) -> None:
        """End the response (WSGI calls ``close`` on every body): a body never iterated
        gives the lease and the upstream connection back; one being sent lets the fetch
        finish without the client."""
        if self._body is not None:
            self._body.close()
        elif not self._closed:
            self._closed = True
            self.response.close()
            self.lease.release()

    def _stream(self) -> Iterator[bytes]:
        threading.Thread(target=self._hash, name=f"hash {self.digest}").start()
        # Not a daemon: a worker exiting gracefully lets a fetch it started finish.
        threading.Thread(target=self._fetch, name=f"fetch {self.digest}").start()
        held = None
        ended = False  # the fetch is over for this client: delivered, or failed
        try:
            while True:
                item = self._next_for_client()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    ended = True
                    raise item
                if held is not None:
                    yield held
                held = item
            ended = True
            if held is not None:  # the fetch thread sends _END only after the verdict
                yield held
        finally:
            if not ended:
                self._leave_early()
            self._left.set()

    def _leave_early(self) -> None:
        """The client left mid-fetch: the fetch goes on if a place is free, else stops."""
        with self._state:
            if self._fetched:
                return
            self._unattended = UNATTENDED.take()
        if not self._unattended:
            logger.info(
                "client of blob %s left: too many fetches unattended, cancelled", self.digest
            )
            self._cancelled.set()

    def _next_for_client(self) -> object:
        try:
            return self._to_client.get(timeout=STALL_LIMIT)
        except queue.Empty:
            raise TimeoutError(f"no bytes of blob {self.digest} for {STALL_LIMIT:.0f} s") from None

    def _give_client(self, item: object) -> None:
        """Queue ``item`` for the client, unless it has left (then drop it)."""
        while not self._left.is_set():
            try:
                self._to_client.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def _hash(self) -> None:
        """Hash until _END; a failure leaves the digest wrong (so the fetch fails) and the
        queue drained (so the fetch thread never blocks on it)."""
        failed = False
        while (chunk := self._to_hasher.get()) is not _END:
            if failed:
                continue
            try:
                self._hasher.update(chunk)
            except Exception:  # noqa: BLE001 - the verdict reports it
                logger.exception("hashing blob %s failed", self.digest)
                failed = True
        self._verified.set()

    def _fetch(self) -> None:
        content = self.mirror.content
        committed = False
        writer = None
        failure: BaseException | None = None
        try:
            writer = content.driver.writer(paths.blob_data(self.digest))
            raw = self.response.raw
            try:
                while chunk := raw.read(CHUNK_SIZE, decode_content=False):
                    if self._cancelled.is_set():
                        raise FetchCancelled(f"fetch of {self.digest} cancelled")
                    self._to_hasher.put(chunk)
                    writer.write(chunk)
                    self.lease.renew()
                    self._give_client(chunk)
            finally:
                self._to_hasher.put(_END)
                self._verified.wait()
            self._verify()
            self._give_client(_END)  # the client may have its last byte before the commit
            # New data (the blob was not stored when the fetch began): its fresh mtime keeps
            # it from any sweep; only a sweep still deciding about an older copy is waited out.
            content.liveness.settle([self.digest])
            writer.commit()
            committed = True
            content.blobs.link(self.name, self.digest)
            logger.info(
                "blob %s (%d bytes) cached for %s", self.digest, self._hasher.size, self.name
            )
        except BaseException as exc:  # noqa: BLE001 - reported to the client, logged here
            failure = exc
            if not committed:
                logger.warning("fetch of blob %s for %s failed: %s", self.digest, self.name, exc)
        finally:
            if writer is not None and not committed:
                writer.cancel()
            self.response.close()
            self.lease.release()
            with self._state:
                self._fetched = True
                if self._unattended:
                    UNATTENDED.give_back()
        if failure is not None:  # after the clean-up: the client sees a failure once it is done
            self._give_client(failure)

    def _verify(self) -> None:
        actual = self._hasher.digest()
        size = self._hasher.size
        if actual != self.digest or (self.size is not None and size != self.size):
            logger.error(
                "upstream %s sent %d bytes with digest %s for blob %s of %s: not cached",
                self.mirror.upstream(self.name).safe_url,
                size,
                actual,
                self.digest,
                self.name,
            )
            raise VerificationFailed(f"blob {self.digest} failed verification")
