"""The storage port: a small, path-addressed, byte-level driver interface.

Every backend (``inmemory``, ``filesystem``, ``s3``) implements the ``_method`` hooks of
:class:`StorageDriver`; the public methods, written once here, validate paths and turn
backend exceptions into the :class:`StorageError` hierarchy (the shape of distribution's
``base.Base`` wrapper). OCI meaning (blobs, links, uploads) lives in ``content/``.

Paths are absolute and ``/``-separated; each component matches ``[A-Za-z0-9._-]+``, is
neither ``.`` nor ``..``, and does not start with ``.wharf`` (names reserved for a driver's
own bookkeeping, such as the pending data of an uncommitted writer). ``/`` (the root) is
accepted only where a directory makes sense: :meth:`StorageDriver.stat`,
:meth:`StorageDriver.list` and :meth:`StorageDriver.walk`.

Writers are resumable across processes: ``writer(path)`` starts a write, ``close()`` at the
end of a request leaves the bytes written so far in storage (invisible at ``path``), and
``writer(path, append=True)`` in any process on the same storage picks them up. ``commit()``
makes the whole content visible at ``path`` at once; ``cancel()`` discards it.
"""

from __future__ import annotations

import abc
import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, ClassVar, Protocol, TypeVar

PATH_RE = re.compile(r"^(/[A-Za-z0-9._-]+)+$")
RESERVED_PREFIX = ".wharf"

T = TypeVar("T")


class StorageError(Exception):
    """A storage operation failed; ``.path`` and ``.driver`` say where."""

    def __init__(self, message: str, path: str | None = None, driver: str | None = None):
        super().__init__(message)
        self.path = path
        self.driver = driver


class PathNotFound(StorageError):
    """Nothing (of the kind the operation needs) exists at ``path``."""

    def __init__(self, path: str, driver: str | None = None):
        super().__init__(f"path not found: {path}", path, driver)


class InvalidPath(StorageError):
    """``path`` breaks the path grammar of this module."""

    def __init__(self, path: object, driver: str | None = None):
        super().__init__(f"invalid path: {path!r}", str(path), driver)


class InvalidOffset(StorageError):
    """``offset`` is negative or past the end of the file at ``path``."""

    def __init__(self, path: str, offset: int, driver: str | None = None):
        super().__init__(f"invalid offset {offset} for {path}", path, driver)
        self.offset = offset


class StorageConfigError(ValueError):
    """A driver parameter is missing or malformed; the message names the parameter.

    ``param`` is that parameter's name when there is one (``wharf-registry serve`` turns it
    into the variable, ``REGISTRY_STORAGE_<DRIVER>_<PARAM>``).
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param

    @classmethod
    def unknown(cls, driver: str, unknown: list[str], known: frozenset[str]) -> StorageConfigError:
        """The error for parameters ``driver`` does not have, naming the closest known one."""
        hint = difflib.get_close_matches(unknown[0], sorted(known), n=1, cutoff=0.7)
        also = f" (did you mean {hint[0]}?)" if hint else ""
        return cls(f"unknown {driver} driver parameter(s): {unknown}{also}", unknown[0])


@dataclass(frozen=True)
class FileInfo:
    """What :meth:`StorageDriver.stat` knows: ``size`` is 0 for directories."""

    path: str
    size: int
    modified: datetime
    is_dir: bool


class FileWriter(Protocol):
    """A resumable write to one path; see the module docstring for the life cycle.

    After ``commit()``, ``cancel()`` or ``close()`` the writer is finished: every method but
    ``close()`` (idempotent) raises :class:`StorageError`.
    """

    def write(self, data: bytes) -> int:
        """Append ``data``; return ``len(data)``."""

    @property
    def size(self) -> int:
        """Total bytes of the content, including those written by earlier writers."""

    def commit(self) -> None:
        """Make the content readable at the path, atomically (all of it or nothing)."""

    def cancel(self) -> None:
        """Discard everything written, by this writer and the ones it resumed."""

    def close(self) -> None:
        """End this request: keep what was written for ``writer(path, append=True)``."""


def validate_path(path: object, *, allow_root: bool = False) -> str:
    """Return ``path`` if it is a valid storage path; raise :class:`InvalidPath` otherwise."""
    if allow_root and path == "/":
        return "/"
    if not isinstance(path, str) or not PATH_RE.fullmatch(path):
        raise InvalidPath(path)
    for part in path[1:].split("/"):
        if part in (".", "..") or part.startswith(RESERVED_PREFIX):
            raise InvalidPath(path)
    return path


def join(parent: str, name: str) -> str:
    """Return the full path of child ``name`` of directory ``parent``."""
    return f"/{name}" if parent == "/" else f"{parent}/{name}"


def is_reserved(name: str) -> bool:
    """True for names a driver uses for its own bookkeeping (never listed)."""
    return name.startswith(RESERVED_PREFIX)


class _GuardedWriter:
    """Enforce the writer life cycle and normalise errors around a backend writer."""

    def __init__(self, inner: FileWriter, driver: StorageDriver, path: str):
        self._inner = inner
        self._driver = driver
        self._path = path
        self._done = False

    @property
    def size(self) -> int:
        return self._inner.size

    def write(self, data: bytes) -> int:
        self._check_open()
        return self._driver._normalised(self._path, self._inner.write, data)

    def commit(self) -> None:
        self._finish(self._inner.commit)

    def cancel(self) -> None:
        self._finish(self._inner.cancel)

    def close(self) -> None:
        if not self._done:
            self._finish(self._inner.close)

    def _finish(self, step: Callable[[], None]) -> None:
        self._check_open()
        self._done = True
        self._driver._normalised(self._path, step)

    def _check_open(self) -> None:
        if self._done:
            raise StorageError("writer already finished", self._path, self._driver.name)

    def __enter__(self) -> _GuardedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StorageDriver(abc.ABC):
    """The port. Public methods validate and normalise; subclasses implement ``_method``s.

    Every public method raises :class:`InvalidPath` for a bad path and :class:`StorageError`
    (or a subclass) for any backend I/O failure (OSError, boto errors never escape).
    """

    name: ClassVar[str]

    def get_content(self, path: str) -> bytes:
        """Return the whole file (small objects only). PathNotFound if no file is there."""
        path = validate_path(path)
        return self._normalised(path, self._get_content, path)

    def put_content(self, path: str, content: bytes) -> None:
        """Store ``content`` at ``path``, replacing any file atomically; creates parents."""
        path = validate_path(path)
        self._normalised(path, self._put_content, path, bytes(content))

    def create(self, path: str, content: bytes) -> bool:
        """Store ``content`` at ``path`` only if no file is there; True if this call did.

        Exclusive across processes and hosts sharing the storage (``O_EXCL``-like: a link
        on disk, ``If-None-Match: *`` on S3): of concurrent calls for one path exactly one
        returns True, and the content appears whole. For coordination objects (the
        pull-through cache's fetch leases, proxy/leases.py): a driver need not make it
        durable against a crash.
        """
        path = validate_path(path)
        return self._normalised(path, self._create, path, bytes(content))

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        """Open a streaming reader at ``offset``; the caller closes it.

        PathNotFound if no file is there; InvalidOffset if ``offset`` < 0 or > size
        (``offset == size`` gives an empty reader).
        """
        path = validate_path(path)
        if offset < 0:
            raise InvalidOffset(path, offset, self.name)
        return self._normalised(path, self._reader, path, offset)

    def writer(self, path: str, append: bool = False) -> FileWriter:
        """Start a writer for ``path``, or with ``append`` resume the uncommitted one.

        Nothing is visible at ``path`` before ``commit()``. With ``append``, PathNotFound
        if no closed, uncommitted writer of ``path`` exists on this storage.
        """
        path = validate_path(path)
        inner = self._normalised(path, self._writer, path, append)
        return _GuardedWriter(inner, self, path)

    def stat(self, path: str) -> FileInfo:
        """Describe the file or directory at ``path``. PathNotFound if neither exists."""
        path = validate_path(path, allow_root=True)
        return self._normalised(path, self._stat, path)

    def list(
        self, path: str, *, start_after: str | None = None, limit: int | None = None
    ) -> list[str]:
        """Return the direct children of directory ``path`` as full paths, sorted.

        Only children whose path sorts after ``start_after`` (a full path, as returned here)
        are returned, at most ``limit`` of them. PathNotFound if ``path`` is not a directory
        (the root always is).
        """
        path = validate_path(path, allow_root=True)
        if start_after is not None:
            validate_path(start_after)
        if limit is not None and limit < 0:
            raise StorageError(f"negative limit {limit}", path, self.name)
        if limit == 0:
            return []
        return self._normalised(path, self._list, path, start_after, limit)

    def move(self, src: str, dst: str) -> None:
        """Move the file at ``src`` to ``dst``, replacing ``dst`` (atomically where possible).

        PathNotFound if no file is at ``src``; creates the parents of ``dst``.
        """
        src, dst = validate_path(src), validate_path(dst)
        self._normalised(src, self._move, src, dst)

    def delete(self, path: str) -> None:
        """Delete the file or the whole directory tree at ``path``. PathNotFound if missing."""
        path = validate_path(path)
        self._normalised(path, self._delete, path)

    def local_path(self, path: str) -> str | None:
        """Return the real file path for sendfile, or None when the backend has none."""
        path = validate_path(path)
        return self._normalised(path, self._local_path, path)

    def redirect_url(self, path: str, method: str = "GET", expires_in: int = 1200) -> str | None:
        """Return a URL a client may use directly (e.g. S3 presigned), or None."""
        path = validate_path(path)
        return self._normalised(path, self._redirect_url, path, method, expires_in)

    def walk(self, path: str = "/") -> Iterator[FileInfo]:
        """Yield every file under directory ``path``, recursively (order unspecified)."""
        path = validate_path(path, allow_root=True)
        files = self._walk(path)
        while (info := self._normalised(path, next, files, None)) is not None:
            yield info

    # -- hooks ---------------------------------------------------------------------------

    @abc.abstractmethod
    def _get_content(self, path: str) -> bytes: ...

    @abc.abstractmethod
    def _put_content(self, path: str, content: bytes) -> None: ...

    @abc.abstractmethod
    def _create(self, path: str, content: bytes) -> bool: ...

    @abc.abstractmethod
    def _reader(self, path: str, offset: int) -> BinaryIO: ...

    @abc.abstractmethod
    def _writer(self, path: str, append: bool) -> FileWriter: ...

    @abc.abstractmethod
    def _stat(self, path: str) -> FileInfo: ...

    @abc.abstractmethod
    def _list(self, path: str, start_after: str | None, limit: int | None) -> list[str]: ...

    @abc.abstractmethod
    def _move(self, src: str, dst: str) -> None: ...

    @abc.abstractmethod
    def _delete(self, path: str) -> None: ...

    def _local_path(self, path: str) -> str | None:
        return None

    def _redirect_url(self, path: str, method: str, expires_in: int) -> str | None:
        return None

    def _walk(self, path: str) -> Iterator[FileInfo]:
        """Generic recursive walk over ``_list``/``_stat``; backends may do better."""
        for child in self._list(path, None, None):
            info = self._stat(child)
            if info.is_dir:
                yield from self._walk(child)
            else:
                yield info

    def _translate(self, exc: Exception, path: str) -> StorageError | None:
        """Map a backend exception to a StorageError, or None to re-raise it unchanged."""
        if isinstance(exc, FileNotFoundError | NotADirectoryError):
            return PathNotFound(path, self.name)
        if isinstance(exc, OSError):
            return StorageError(f"{type(exc).__name__}: {exc.strerror}", path, self.name)
        return None

    def _normalised(self, path: str, fn: Callable[..., T], *args: object) -> T:
        try:
            return fn(*args)
        except StorageError as exc:
            exc.driver = exc.driver or self.name
            raise
        except Exception as exc:
            mapped = self._translate(exc, path)
            if mapped is None:
                raise
            raise mapped from exc
