"""The local-disk driver: storage path ``/a/b`` is the file ``<rootdirectory>/a/b``.

Crash safety: content reaches its final name only by ``os.replace`` of a fully written,
fsynced temporary file in the same directory, followed by an fsync of the directory; a
``kill -9`` or a power loss shows either the old content or the new one, never a part.

Writers keep their bytes beside the final name, in names no valid path can take:

- ``.wharf-tmp.<name>.<random>``: the file of a new writer, private to it (so concurrent
  writers of one path never mix their bytes);
- ``.wharf-pending.<name>``: where ``close()`` leaves the bytes of an uncommitted writer;
  ``writer(path, append=True)``, from any process on this disk, appends to it in place and
  ``commit()`` renames it onto ``<name>``.

A resumed writer holds an exclusive ``flock`` on the pending file from its opening to its
end, and renames or deletes the file before letting go. Two writers resuming one path
(two requests on one upload) thus take turns, and the second, once it holds the lock, checks
that the pending name still is the file it opened: if the first committed or cancelled it,
the second gets PathNotFound instead of writing into content already committed (renaming
keeps the inode, so a late write would change a published file).

Reserved names are never listed, stat-ed or walked; deleting a directory removes them too.

Writers start the kernel's write-back of every 8 MiB they were given (Linux's
``sync_file_range(SYNC_FILE_RANGE_WRITE)``, which does not wait), so the disk works while
the bytes still arrive and the fsync of a commit waits for the last few MiB, not the whole
file. It changes nothing of what a crash may leave (only fsync promises anything).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import heapq
import os
import shutil
import stat
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import BinaryIO

from .base import (
    FileInfo,
    InvalidOffset,
    PathNotFound,
    StorageConfigError,
    StorageDriver,
    StorageError,
    is_reserved,
    join,
)


class FilesystemWriter:
    """Write to a temporary file or the pending file of ``final``; see the module docstring."""

    def __init__(self, final: str, append: bool):
        directory, name = os.path.split(final)
        self._final = final
        self._pending = os.path.join(directory, f".wharf-pending.{name}")
        if append:
            self._current = self._pending
            self._file = open(self._pending, "r+b")
            try:
                _lock(self._file.fileno(), self._pending)
            except BaseException:
                self._file.close()
                raise
            self._file.seek(0, os.SEEK_END)
        else:
            make_dirs(directory)
            self._current = os.path.join(directory, f".wharf-tmp.{name}.{uuid.uuid4().hex}")
            self._file = open(self._current, "xb")
        self._size = self._file.tell()
        self._written_back = self._size  # write-back started up to here

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes) -> int:
        self._file.write(data)
        self._size += len(data)
        if self._size - self._written_back >= WRITE_BACK_EVERY:
            self._file.flush()
            start_write_back(self._file.fileno(), self._written_back, self._size)
            self._written_back = self._size
        return len(data)

    def commit(self) -> None:
        with self._file:  # closed (and unlocked) only once renamed, see the module docstring
            self._sync()
            try:
                os.replace(self._current, self._final)
            except OSError:
                _unlink(self._current)
                raise
        fsync_dir(os.path.dirname(self._final))

    def cancel(self) -> None:
        with self._file:
            _unlink(self._current)

    def close(self) -> None:
        self._sync_and_close()
        if self._current != self._pending:
            os.replace(self._current, self._pending)
            fsync_dir(os.path.dirname(self._pending))

    def _sync_and_close(self) -> None:
        with self._file:
            self._sync()

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())


class FilesystemDriver(StorageDriver):
    """Store files under ``rootdirectory`` (created if missing)."""

    name = "filesystem"

    def __init__(self, rootdirectory: str):
        self.root = os.path.abspath(rootdirectory)
        os.makedirs(self.root, exist_ok=True)

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> FilesystemDriver:
        """Build a driver from ``rootdirectory`` (required); StorageConfigError otherwise."""
        unknown = sorted(set(params) - {"rootdirectory"})
        if unknown:
            raise StorageConfigError.unknown("filesystem", unknown, frozenset({"rootdirectory"}))
        root = params.get("rootdirectory")
        if not isinstance(root, str | os.PathLike) or not str(root):
            raise StorageConfigError(
                "rootdirectory is required (a directory path)", "rootdirectory"
            )
        try:
            return cls(str(root))
        except OSError as exc:
            raise StorageConfigError(
                f"rootdirectory {root!r} is unusable: {exc}", "rootdirectory"
            ) from exc

    def _get_content(self, path: str) -> bytes:
        with self._open(path) as stream:
            return stream.read()

    def _put_content(self, path: str, content: bytes) -> None:
        writer = FilesystemWriter(self._real(path), append=False)
        try:
            writer.write(content)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def _create(self, path: str, content: bytes) -> bool:
        """Write a private temporary file, then ``link`` it to the name: the link fails
        when the name exists (atomic on POSIX filesystems, NFS included), and the content is
        complete before it has a name. Not fsynced: created objects coordinate live
        processes (fetch leases), and a crash that loses one loses its holder too."""
        final = self._real(path)
        directory, name = os.path.split(final)
        make_dirs(directory, durable=False)
        temporary = os.path.join(directory, f".wharf-tmp.{name}.{uuid.uuid4().hex}")
        with open(temporary, "xb") as f:
            f.write(content)
        try:
            os.link(temporary, final)
        except FileExistsError:
            return False
        finally:
            _unlink(temporary)
        return True

    def _reader(self, path: str, offset: int) -> BinaryIO:
        stream = self._open(path)
        if offset > os.fstat(stream.fileno()).st_size:
            stream.close()
            raise InvalidOffset(path, offset)
        stream.seek(offset)
        return stream

    def _writer(self, path: str, append: bool) -> FilesystemWriter:
        return FilesystemWriter(self._real(path), append)

    def _stat(self, path: str) -> FileInfo:
        return _info(path, os.stat(self._real(path)))

    def _list(self, path: str, start_after: str | None, limit: int | None) -> list[str]:
        with os.scandir(self._real(path)) as entries:
            children = [
                join(path, e.name)
                for e in entries
                if not is_reserved(e.name)
                and (start_after is None or join(path, e.name) > start_after)
            ]
        return sorted(children) if limit is None else heapq.nsmallest(limit, children)

    def _move(self, src: str, dst: str) -> None:
        real_src, real_dst = self._real(src), self._real(dst)
        if not os.path.isfile(real_src):
            raise PathNotFound(src)
        make_dirs(os.path.dirname(real_dst))
        os.replace(real_src, real_dst)
        fsync_dir(os.path.dirname(real_dst))
        fsync_dir(os.path.dirname(real_src))

    def _delete(self, path: str) -> None:
        real = self._real(path)
        if os.path.isdir(real):
            shutil.rmtree(real)
        else:
            os.unlink(real)
        fsync_dir(os.path.dirname(real))

    def _local_path(self, path: str) -> str:
        real = self._real(path)
        if not os.path.isfile(real):
            raise PathNotFound(path)
        return real

    def _walk(self, path: str) -> Iterator[FileInfo]:
        real = self._real(path)
        if not os.path.isdir(real):
            raise PathNotFound(path)
        for top, dirs, files in os.walk(real):
            dirs[:] = sorted(d for d in dirs if not is_reserved(d))
            base = "/" + os.path.relpath(top, self.root).replace(os.sep, "/")
            base = "/" if base == "/." else base
            for name in sorted(f for f in files if not is_reserved(f)):
                child = join(base, name)
                yield _info(child, os.stat(os.path.join(top, name)))

    def _open(self, path: str) -> BinaryIO:
        try:
            return open(self._real(path), "rb")
        except IsADirectoryError as exc:
            raise PathNotFound(path) from exc

    def _real(self, path: str) -> str:
        return self.root if path == "/" else os.path.join(self.root, *path[1:].split("/"))


WRITE_BACK_EVERY = 8 << 20
_SYNC_FILE_RANGE_WRITE = 2  # <linux/fs.h>


def _sync_file_range():
    """libc's ``sync_file_range``, or None where there is none (not Linux)."""
    try:
        function = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).sync_file_range
    except (OSError, AttributeError, TypeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


_SYNC_FILE_RANGE = _sync_file_range()


def start_write_back(fd: int, start: int, stop: int) -> None:
    """Ask the kernel to start writing bytes ``start:stop`` of ``fd`` to disk, without
    waiting (a hint: a failure is ignored, the commit's fsync is what counts)."""
    if _SYNC_FILE_RANGE is not None:
        _SYNC_FILE_RANGE(fd, start, stop - start, _SYNC_FILE_RANGE_WRITE)


def make_dirs(directory: str, durable: bool = True) -> None:
    """Create ``directory`` and its parents, fsyncing each parent that gained an entry
    (unless not ``durable``: for objects no crash needs to find again)."""
    missing = []
    while not os.path.isdir(directory):
        missing.append(directory)
        directory = os.path.dirname(directory)
    for new in reversed(missing):
        try:
            os.mkdir(new)
        except FileExistsError:
            if not os.path.isdir(new):
                raise StorageError("a file is in the way of a directory") from None
        if durable:
            fsync_dir(os.path.dirname(new))


def fsync_dir(directory: str) -> None:
    """Flush a directory's entries (renames, creations) to disk."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock(fd: int, path: str) -> None:
    """Lock ``fd`` (waiting for another writer); FileNotFoundError if ``path`` is not it."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    opened, named = os.fstat(fd), os.stat(path)
    if (opened.st_dev, opened.st_ino) != (named.st_dev, named.st_ino):
        raise FileNotFoundError(path)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _info(path: str, st: os.stat_result) -> FileInfo:
    is_dir = stat.S_ISDIR(st.st_mode)
    modified = datetime.fromtimestamp(st.st_mtime, UTC)
    return FileInfo(path, 0 if is_dir else st.st_size, modified, is_dir)
