"""An in-memory driver for tests and development.

Files live in a :class:`MemoryStore` (a dict guarded by a lock); directories exist while a
file lies under them. Two drivers built on the same store behave like two processes on
shared storage, which is how the conformance suite checks resumable writers.
"""

from __future__ import annotations

import heapq
import io
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

from .base import (
    FileInfo,
    InvalidOffset,
    PathNotFound,
    StorageConfigError,
    StorageDriver,
    StorageError,
)


@dataclass
class MemoryStore:
    """The shared state: committed files and the pending data of closed writers."""

    files: dict[str, tuple[bytes, datetime]] = field(default_factory=dict)
    pending: dict[str, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class InMemoryWriter:
    """Buffer writes in memory; ``close()`` parks them in ``store.pending``."""

    def __init__(self, store: MemoryStore, path: str, initial: bytes | None):
        self._store = store
        self._path = path
        self._buffer = bytearray(initial or b"")
        self._resumed = initial is not None

    @property
    def size(self) -> int:
        return len(self._buffer)

    def write(self, data: bytes) -> int:
        self._buffer += data
        return len(data)

    def commit(self) -> None:
        with self._store.lock:
            _check_fits(self._store, self._path)
            self._store.files[self._path] = (bytes(self._buffer), _now())
            self._drop_pending()

    def cancel(self) -> None:
        with self._store.lock:
            self._drop_pending()
        self._buffer = bytearray()

    def close(self) -> None:
        with self._store.lock:
            self._store.pending[self._path] = bytes(self._buffer)

    def _drop_pending(self) -> None:
        if self._resumed:
            self._store.pending.pop(self._path, None)


class InMemoryDriver(StorageDriver):
    """Keep everything in a :class:`MemoryStore`; ``store`` lets two drivers share one."""

    name = "inmemory"

    def __init__(self, store: MemoryStore | None = None):
        self.store = store if store is not None else MemoryStore()

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> InMemoryDriver:
        """Build a driver; the ``inmemory`` driver takes no parameters."""
        if params:
            raise StorageConfigError(
                f"inmemory driver takes no parameters, got {sorted(params)}", sorted(params)[0]
            )
        return cls()

    def _get_content(self, path: str) -> bytes:
        with self.store.lock:
            entry = self.store.files.get(path)
        if entry is None:
            raise PathNotFound(path)
        return entry[0]

    def _put_content(self, path: str, content: bytes) -> None:
        with self.store.lock:
            _check_fits(self.store, path)
            self.store.files[path] = (content, _now())

    def _create(self, path: str, content: bytes) -> bool:
        with self.store.lock:
            if path in self.store.files:
                return False
            _check_fits(self.store, path)
            self.store.files[path] = (content, _now())
            return True

    def _reader(self, path: str, offset: int) -> BinaryIO:
        content = self._get_content(path)
        if offset > len(content):
            raise InvalidOffset(path, offset)
        stream = io.BytesIO(content)
        stream.seek(offset)
        return stream

    def _writer(self, path: str, append: bool) -> InMemoryWriter:
        initial = None
        if append:
            with self.store.lock:
                initial = self.store.pending.get(path)
            if initial is None:
                raise PathNotFound(path)
        return InMemoryWriter(self.store, path, initial)

    def _stat(self, path: str) -> FileInfo:
        with self.store.lock:
            entry = self.store.files.get(path)
            if entry is not None:
                return FileInfo(path, len(entry[0]), entry[1], False)
            under = [m for p, (_, m) in self.store.files.items() if p.startswith(_dir(path))]
        if not under and path != "/":
            raise PathNotFound(path)
        return FileInfo(path, 0, max(under, default=_now()), True)

    def _list(self, path: str, start_after: str | None, limit: int | None) -> list[str]:
        prefix = _dir(path)
        with self.store.lock:
            children = {
                prefix + p[len(prefix) :].split("/", 1)[0]
                for p in self.store.files
                if p.startswith(prefix)
            }
        if not children and path != "/":
            raise PathNotFound(path)
        after = [c for c in children if start_after is None or c > start_after]
        if limit is None:
            return sorted(after)
        return heapq.nsmallest(limit, after)

    def _move(self, src: str, dst: str) -> None:
        with self.store.lock:
            entry = self.store.files.get(src)
            if entry is None:
                raise PathNotFound(src)
            _check_fits(self.store, dst)
            self.store.files[dst] = (entry[0], _now())
            del self.store.files[src]

    def _delete(self, path: str) -> None:
        with self.store.lock:
            files = [p for p in self.store.files if p == path or p.startswith(path + "/")]
            pending = [p for p in self.store.pending if p.startswith(path + "/")]
            if not files and not pending:
                raise PathNotFound(path)
            for p in files:
                del self.store.files[p]
            for p in pending:
                del self.store.pending[p]


def _check_fits(store: MemoryStore, path: str) -> None:
    """Refuse a file where a directory is, or under a file (as a filesystem would)."""
    parts = path.split("/")
    ancestors = ("/".join(parts[:i]) for i in range(2, len(parts)))
    if any(a in store.files for a in ancestors) or any(
        p.startswith(path + "/") for p in store.files
    ):
        raise StorageError("a file or directory is in the way", path)


def _dir(path: str) -> str:
    return "/" if path == "/" else path + "/"


def _now() -> datetime:
    return datetime.now(UTC)
