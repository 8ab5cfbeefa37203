"""Upload sessions (end-4a/4b, end-5, end-6, end-13, and cancel): stateless, streamed, verified.

All state is in storage: ``_uploads/<id>/startedat`` marks the session and the driver's
resumable writer of ``_uploads/<id>/data`` holds the bytes, so any replica can serve any
request of an upload. Bytes are hashed while they stream in; Python hash objects cannot be
serialised, so each process keeps the running :class:`~wharf_protocol.digests.Hasher` in a
small cache keyed by ``(repository, upload id, size)``. When a request finds no hasher for the
current size (another replica served the previous chunk, or this process restarted) hashing
is left to :meth:`UploadSessions.finish`, which then re-reads the committed data from storage.

Visibility: the data is committed under ``_uploads/``, its digest verified, then moved to
``blobs/`` and only then linked into the repository; a mismatch deletes the session. A body
shorter than announced, or a failing read (client gone), cancels the writer and deletes the
session: nothing of a partial chunk is ever kept or shown (``UploadInvalid``).

Upload ids are the lower-case UUIDs :meth:`UploadSessions.start` makes (the spec has the
location carry a UUID, end-4a; the reference registry makes the same); any other id names no
session (``UploadUnknown``) and never reaches a storage path. Two requests on one upload at
once (two PUTs completing it, a PATCH racing the PUT) are serialised by the driver's writer
where the storage needs it; the one that finds the upload finished or cancelled by the other
gets ``UploadUnknown`` (its data was moved or deleted under it), never a storage error.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from wharf_protocol.digests import Digest, Hasher, hash_stream

from ..storage.base import FileWriter, PathNotFound, StorageDriver, StorageError
from . import paths
from .blobs import BlobStore
from .errors import DigestMismatch, UploadInvalid, UploadRangeInvalid, UploadUnknown
from .liveness import Liveness

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20
#: A check of a push's new bytes that raises to refuse it (api/quota.py).
Admit = Callable[[int], None]
#: The upload ids ``start`` makes: ``str(uuid.uuid4())``.
UPLOAD_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Body:
    """A request body to stream: ``stream.read(n)``; ``length`` None means "until EOF"."""

    stream: BinaryIO
    length: int | None = None
    start: int | None = None  # first byte offset the client claims (Content-Range), if any


class HasherCache:
    """Bounded, thread-safe map ``(name, upload id, size) -> Hasher`` of this process."""

    def __init__(self, capacity: int = 512) -> None:
        self._items: OrderedDict[tuple[str, str, int], Hasher] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def take(self, name: str, upload_id: str, size: int) -> Hasher | None:
        """Remove and return the hasher that has seen exactly ``size`` bytes, if any."""
        with self._lock:
            return self._items.pop((name, upload_id, size), None)

    def put(self, name: str, upload_id: str, hasher: Hasher) -> None:
        """Remember ``hasher`` for the upload at its current size."""
        with self._lock:
            self._items[(name, upload_id, hasher.size)] = hasher
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)


class UploadSessions:
    """Start, append to, inspect, finish and cancel uploads of one registry."""

    def __init__(
        self,
        driver: StorageDriver,
        blobs: BlobStore,
        hashers: HasherCache,
        liveness: Liveness | None = None,
    ) -> None:
        self.driver = driver
        self.blobs = blobs
        self.hashers = hashers
        self.liveness = liveness or Liveness(driver)

    def start(self, name: str) -> str:
        """Open a new session in ``name`` (end-4a); return its id."""
        upload_id = str(uuid.uuid4())
        started = datetime.now(UTC).isoformat().encode()
        self.driver.put_content(paths.upload_startedat(name, upload_id), started)
        self.driver.writer(paths.upload_data(name, upload_id)).close()
        return upload_id

    def status(self, name: str, upload_id: str) -> int:
        """Return the bytes received so far (end-13); UploadUnknown if no such session."""
        with self._unless_gone(upload_id):
            writer = self._resume(name, upload_id)
            size = writer.size
            writer.close()
            return size

    def append(self, name: str, upload_id: str, body: Body) -> int:
        """Append one chunk (end-5); return the new size.

        UploadRangeInvalid (session kept) if ``body.start`` is not the current size; UploadInvalid
        (session deleted) if the body is cut short.
        """
        with self._unless_gone(upload_id):
            writer = self._resume(name, upload_id)
            self._check_start(writer, body, upload_id)
            hasher = self._hasher(name, upload_id, writer.size)
            self._copy(name, upload_id, writer, body, hasher)
            size = writer.size
            writer.close()
        if hasher is not None:
            self.hashers.put(name, upload_id, hasher)
        return size

    def finish(
        self,
        name: str,
        upload_id: str,
        digest: Digest,
        body: Body | None,
        admit: Admit | None = None,
    ) -> int:
        """Take an optional last chunk, verify ``digest``, publish and link the blob (end-6).

        Returns the blob size. DigestMismatch deletes the session; nothing becomes visible.
        UploadUnknown when another request finished or cancelled the upload meanwhile.
        ``admit(size)`` is called once the digest is verified, before the blob is
        published; whatever it raises deletes the session too (a storage quota).
        """
        with self._unless_gone(upload_id):
            writer = self._resume(name, upload_id)
            if body is not None:
                self._check_start(writer, body, upload_id)
            hasher = self._hasher(name, upload_id, writer.size)
            if body is not None:
                self._copy(name, upload_id, writer, body, hasher)
            writer.commit()
            return self._publish(name, upload_id, digest, hasher, admit)

    def put(self, name: str, digest: Digest, body: Body, admit: Admit | None = None) -> int:
        """Store a whole blob in one request (end-4b); return its size (``admit``: as
        for :meth:`finish`)."""
        upload_id = str(uuid.uuid4())
        writer = self.driver.writer(paths.upload_data(name, upload_id))
        hasher = Hasher(digest.algorithm)
        self._copy(name, upload_id, writer, body, hasher)
        writer.commit()
        return self._publish(name, upload_id, digest, hasher, admit)

    def cancel(self, name: str, upload_id: str) -> None:
        """Discard the session and its bytes; UploadUnknown if there is none."""
        with self._unless_gone(upload_id):
            self._resume(name, upload_id).cancel()
        self._drop(name, upload_id)

    # -- internals -----------------------------------------------------------------------

    @contextmanager
    def _unless_gone(self, upload_id: str) -> Iterator[None]:
        """Turn PathNotFound into UploadUnknown: the upload was finished or cancelled meanwhile."""
        try:
            yield
        except PathNotFound:
            raise UploadUnknown(upload_id) from None

    def _resume(self, name: str, upload_id: str) -> FileWriter:
        if not UPLOAD_ID_RE.fullmatch(upload_id):
            raise UploadUnknown(upload_id)
        try:
            self.driver.stat(paths.upload_startedat(name, upload_id))
            return self.driver.writer(paths.upload_data(name, upload_id), append=True)
        except PathNotFound:
            raise UploadUnknown(upload_id) from None

    def _check_start(self, writer: FileWriter, body: Body, upload_id: str) -> None:
        if body.start is not None and body.start != writer.size:
            size = writer.size
            writer.close()
            raise UploadRangeInvalid(
                f"chunk starts at {body.start}, upload has {size} bytes", size, upload_id
            )

    def _hasher(self, name: str, upload_id: str, size: int) -> Hasher | None:
        hasher = self.hashers.take(name, upload_id, size)
        if hasher is None and size == 0:
            hasher = Hasher()
        return hasher

    def _copy(
        self, name: str, upload_id: str, writer: FileWriter, body: Body, hasher: Hasher | None
    ) -> None:
        """Stream ``body`` into ``writer``; on a short or failing body, drop the session."""
        copied = 0
        try:
            while body.length is None or copied < body.length:
                want = CHUNK_SIZE if body.length is None else min(CHUNK_SIZE, body.length - copied)
                chunk = body.stream.read(want)
                if not chunk:
                    break
                writer.write(chunk)
                if hasher is not None:
                    hasher.update(chunk)
                copied += len(chunk)
        except StorageError:
            self._abort(name, upload_id, writer)
            raise
        except Exception as exc:  # noqa: BLE001 - any read failure means the client is gone
            self._abort(name, upload_id, writer)
            raise UploadInvalid(f"request body failed after {copied} bytes") from exc
        if body.length is not None and copied < body.length:
            self._abort(name, upload_id, writer)
            raise UploadInvalid(f"request body ended after {copied} of {body.length} bytes")

    def _abort(self, name: str, upload_id: str, writer: FileWriter) -> None:
        logger.info("upload %s in %s aborted: body cut short", upload_id, name)
        writer.cancel()
        self._drop(name, upload_id)

    def _publish(
        self,
        name: str,
        upload_id: str,
        digest: Digest,
        hasher: Hasher | None,
        admit: Admit | None = None,
    ) -> int:
        data = paths.upload_data(name, upload_id)
        size = self.driver.stat(data).size
        if hasher is not None and hasher.algorithm == digest.algorithm and hasher.size == size:
            actual = hasher.digest()
        else:
            with self.driver.reader(data) as stream:
                actual, size = hash_stream(stream, digest.algorithm, CHUNK_SIZE)
        if actual != digest:
            self._drop(name, upload_id)
            raise DigestMismatch(digest, actual)
        if admit is not None:
            try:
                admit(size)
            except Exception:
                self._drop(name, upload_id)
                raise
        # The blob may already exist, condemned by a running sweep: record the use, wait
        # out the sweep, then publish (liveness.py), within the push deadline.
        deadline = self.liveness.start()
        self.liveness.touch(digest)
        self.liveness.settle([digest])
        deadline.check()
        self.driver.move(data, paths.blob_data(digest))
        self.blobs.link(name, digest)
        self._drop(name, upload_id)
        logger.info("blob %s (%d bytes) pushed to %s", digest, size, name)
        return size

    def _drop(self, name: str, upload_id: str) -> None:
        try:
            self.driver.delete(paths.upload_dir(name, upload_id))
        except PathNotFound:
            pass
