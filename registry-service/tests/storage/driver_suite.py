"""The storage driver conformance suite: one class, run against every backend.

Each backend module subclasses :class:`DriverSuite` and provides three fixtures:

- ``driver``: a fresh driver on empty storage;
- ``reopen``: a callable returning a NEW driver instance on the same storage (another
  process of a stateless registry, as far as the driver can tell);
- ``leftovers``: a callable listing whatever the backend still holds (files, pending
  data, open multipart uploads), to prove that cancel and delete leave nothing behind.
"""

from __future__ import annotations

import threading

import pytest
import requests
from wharf_registry.storage import (
    InvalidOffset,
    InvalidPath,
    PathNotFound,
    StorageDriver,
    StorageError,
)

BINARY = bytes(range(256)) * 8 + b"\x00\xff\r\n"
SMALL_PART = 64 * 1024

INVALID_PATHS = [
    "",
    "relative/path",
    "/",
    "/a/",
    "//a",
    "/a//b",
    "/a/../b",
    "/..",
    "/a/.",
    "/a b",
    "/a/b\x00c",
    "/a\n",
    "/a/\u00fc",
    "/a:b",
    "/a/*",
    "/a\\b",
    "/a/.wharf-pending.b",
]


def part_size(driver: StorageDriver) -> int:
    """The backend's part size (S3 ``chunksize``), or a small stand-in elsewhere."""
    return getattr(driver, "chunksize", SMALL_PART)


def pattern(size: int, seed: int = 0) -> bytes:
    """Deterministic, non-repeating-per-block bytes of ``size``."""
    block = bytes((i * 7 + seed) % 251 for i in range(4093))
    return (block * (size // len(block) + 1))[:size]


class DriverSuite:
    """Behaviour every StorageDriver must show."""

    # -- content ---------------------------------------------------------------------

    def test_put_get_binary_round_trip(self, driver):
        driver.put_content("/a/b/blob", BINARY)
        assert driver.get_content("/a/b/blob") == BINARY

    def test_put_overwrites(self, driver):
        driver.put_content("/f", b"first, longer content")
        driver.put_content("/f", b"second")
        assert driver.get_content("/f") == b"second"
        assert driver.stat("/f").size == 6

    def test_empty_content(self, driver):
        driver.put_content("/empty", b"")
        assert driver.get_content("/empty") == b""
        with driver.reader("/empty") as stream:
            assert stream.read() == b""

    def test_get_missing_or_directory(self, driver):
        driver.put_content("/dir/file", b"x")
        for path in ("/missing", "/dir", "/dir/file/below"):
            with pytest.raises(PathNotFound) as info:
                driver.get_content(path)
            assert info.value.path == path
            assert info.value.driver == driver.name

    # -- readers ---------------------------------------------------------------------

    @pytest.mark.parametrize("offset", [0, 1, 1000, len(BINARY) - 1, len(BINARY)])
    def test_reader_offsets(self, driver, offset):
        driver.put_content("/r/blob", BINARY)
        with driver.reader("/r/blob", offset) as stream:
            assert stream.read() == BINARY[offset:]

    @pytest.mark.parametrize("offset", [len(BINARY) + 1, 10**9, -1])
    def test_reader_bad_offset(self, driver, offset):
        driver.put_content("/r/blob", BINARY)
        with pytest.raises(InvalidOffset) as info:
            driver.reader("/r/blob", offset)
        assert info.value.offset == offset

    def test_reader_missing(self, driver):
        with pytest.raises(PathNotFound):
            driver.reader("/nothing/here")

    def test_reader_streams_in_pieces(self, driver):
        data = pattern(300_000)
        driver.put_content("/big", data)
        pieces = []
        with driver.reader("/big", 5) as stream:
            while piece := stream.read(65536):
                assert len(piece) <= 65536
                pieces.append(piece)
        assert b"".join(pieces) == data[5:]

    # -- writers ---------------------------------------------------------------------

    def test_writer_visible_only_after_commit(self, driver):
        writer = driver.writer("/w/file")
        assert writer.write(b"hello ") == 6
        writer.write(b"world")
        assert writer.size == 11
        with pytest.raises(PathNotFound):
            driver.stat("/w/file")
        writer.commit()
        assert driver.get_content("/w/file") == b"hello world"
        assert driver.list("/w") == ["/w/file"]

    def test_close_is_invisible_and_append_resumes(self, driver):
        writer = driver.writer("/w/file")
        writer.write(b"abc")
        writer.close()
        writer.close()
        with pytest.raises(PathNotFound):
            driver.get_content("/w/file")
        resumed = driver.writer("/w/file", append=True)
        assert resumed.size == 3
        resumed.write(b"def")
        assert resumed.size == 6
        resumed.commit()
        assert driver.get_content("/w/file") == b"abcdef"

    def test_append_from_another_driver_instance(self, driver, reopen):
        writer = driver.writer("/up/data")
        writer.write(b"first request;")
        writer.close()
        other = reopen()
        resumed = other.writer("/up/data", append=True)
        assert resumed.size == 14
        resumed.write(b"second request;")
        resumed.close()
        last = reopen().writer("/up/data", append=True)
        last.write(b"third")
        last.commit()
        assert driver.get_content("/up/data") == b"first request;second request;third"

    def test_append_across_parts_in_small_chunks(self, driver, reopen):
        part = part_size(driver)
        data = pattern(2 * part + part // 2)
        chunk = part * 3 // 10
        boundaries = [part * 6 // 10, part * 3 // 2, len(data)]
        start, current = 0, driver
        for number, end in enumerate(boundaries):
            writer = current.writer("/up/big", append=number > 0)
            assert writer.size == start
            for offset in range(start, end, chunk):
                writer.write(data[offset : min(offset + chunk, end)])
            assert writer.size == end
            if end == len(data):
                writer.commit()
            else:
                writer.close()
            start, current = end, reopen()
        assert driver.stat("/up/big").size == len(data)
        with driver.reader("/up/big") as stream:
            assert stream.read() == data

    def test_append_needs_a_closed_writer(self, driver):
        with pytest.raises(PathNotFound):
            driver.writer("/none", append=True)
        writer = driver.writer("/done")
        writer.write(b"x")
        writer.commit()
        with pytest.raises(PathNotFound):
            driver.writer("/done", append=True)

    def test_finished_writer_refuses_more(self, driver):
        writer = driver.writer("/fin")
        writer.write(b"x")
        writer.commit()
        writer.close()
        for call in (lambda: writer.write(b"y"), writer.commit, writer.cancel):
            with pytest.raises(StorageError):
                call()
        assert driver.get_content("/fin") == b"x"

    def test_cancel_leaves_nothing(self, driver, reopen, leftovers):
        part = part_size(driver)
        writer = driver.writer("/c/blob")
        writer.write(pattern(part + 10))
        writer.close()
        resumed = reopen().writer("/c/blob", append=True)
        resumed.write(pattern(part, seed=1))
        resumed.cancel()
        fresh = driver.writer("/c/other")
        fresh.write(pattern(part + 1))
        fresh.cancel()
        with pytest.raises(PathNotFound):
            driver.stat("/c/blob")
        with pytest.raises(PathNotFound):
            driver.writer("/c/blob", append=True)
        assert leftovers() == []

    def test_a_late_resumed_writer_never_changes_committed_content(self, driver, reopen):
        writer = driver.writer("/late/blob")
        writer.write(b"first")
        writer.close()
        committing = driver.writer("/late/blob", append=True)
        committed, outcome = threading.Event(), []

        def late() -> None:  # a second request on the same upload, resuming meanwhile
            try:
                resumed = reopen().writer("/late/blob", append=True)
                committed.wait(timeout=10)
                resumed.write(b"LATE")
                resumed.close()
                outcome.append("written")
            except PathNotFound:
                outcome.append("gone")

        thread = threading.Thread(target=late)
        thread.start()
        thread.join(timeout=0.5)  # let it resume (or wait for its turn) before the commit
        committing.write(b"+more")
        committing.commit()
        committed.set()
        thread.join(timeout=10)
        assert not thread.is_alive() and outcome
        assert driver.get_content("/late/blob") == b"first+more"

    def test_concurrent_writers_leave_one_complete_content(self, driver):
        contents = [pattern(50_000 + i, seed=i) for i in range(4)]
        errors = []

        def write(content: bytes) -> None:
            try:
                writer = driver.writer("/race/blob")
                for offset in range(0, len(content), 8192):
                    writer.write(content[offset : offset + 8192])
                writer.commit()
            except Exception as exc:  # noqa: BLE001 - reported through the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(c,)) for c in contents]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert driver.get_content("/race/blob") in contents
        assert driver.list("/race") == ["/race/blob"]

    def test_create_is_exclusive(self, driver):
        assert driver.create("/lease/a", b"first")
        assert not driver.create("/lease/a", b"second")
        assert driver.get_content("/lease/a") == b"first"
        assert driver.list("/lease") == ["/lease/a"]

    def test_concurrent_creates_have_one_winner(self, driver):
        won: list[bytes] = []
        errors = []

        def create(content: bytes) -> None:
            try:
                if driver.create("/lease/race", content):
                    won.append(content)
            except Exception as exc:  # noqa: BLE001 - reported through the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=create, args=(b"c%d" % i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(won) == 1
        assert driver.get_content("/lease/race") == won[0]
        assert driver.list("/lease") == ["/lease/race"]

    # -- stat, list, walk ------------------------------------------------------------

    def test_stat(self, driver):
        driver.put_content("/s/dir/file", b"12345")
        info = driver.stat("/s/dir/file")
        assert (info.path, info.size, info.is_dir) == ("/s/dir/file", 5, False)
        assert info.modified.tzinfo is not None
        assert driver.stat("/s/dir").is_dir
        assert driver.stat("/s").is_dir
        assert driver.stat("/").is_dir
        for missing in ("/s/dir/fil", "/s/di", "/nope"):
            with pytest.raises(PathNotFound):
                driver.stat(missing)

    def test_list_sorted_direct_children(self, driver):
        for name in ("b", "a-b", "a.c", "a/x", "a/y/z", "c/d", "B"):
            driver.put_content(f"/l/{name}", b"x")
        expected = ["/l/B", "/l/a", "/l/a-b", "/l/a.c", "/l/b", "/l/c"]
        assert driver.list("/l") == expected
        assert driver.list("/l/a") == ["/l/a/x", "/l/a/y"]
        assert driver.list("/") == ["/l"]

    def test_list_start_after_and_limit(self, driver):
        for name in ("b", "a-b", "a.c", "a/x", "c/d", "a-a/q"):
            driver.put_content(f"/l/{name}", b"x")
        full = driver.list("/l")
        assert full == ["/l/a", "/l/a-a", "/l/a-b", "/l/a.c", "/l/b", "/l/c"]
        assert driver.list("/l", limit=1) == ["/l/a"]
        assert driver.list("/l", limit=2) == ["/l/a", "/l/a-a"]
        assert driver.list("/l", start_after="/l/a") == full[1:]
        assert driver.list("/l", start_after="/l/a-b", limit=2) == ["/l/a.c", "/l/b"]
        assert driver.list("/l", start_after="/l/aa") == ["/l/b", "/l/c"]
        assert driver.list("/l", start_after="/l/c") == []
        assert driver.list("/l", limit=0) == []
        for size in (1, 2, 4):
            pages, last = [], None
            while page := driver.list("/l", start_after=last, limit=size):
                pages += page
                last = page[-1]
            assert pages == full

    def test_list_missing_or_file(self, driver):
        driver.put_content("/l/file", b"x")
        for path in ("/nothing", "/l/file", "/l/fil"):
            with pytest.raises(PathNotFound):
                driver.list(path)
        with pytest.raises(PathNotFound):
            driver.list("/nothing", start_after="/nothing/a", limit=3)

    def test_list_hides_uncommitted_writers(self, driver):
        driver.put_content("/u/visible", b"x")
        writer = driver.writer("/u/pending")
        writer.write(b"y")
        writer.close()
        assert driver.list("/u") == ["/u/visible"]
        assert [f.path for f in driver.walk("/u")] == ["/u/visible"]

    def test_walk(self, driver):
        for path in ("/t/a", "/t/b/c", "/t/b/d/e", "/other"):
            driver.put_content(path, path.encode())
        found = sorted((f.path, f.size, f.is_dir) for f in driver.walk("/t"))
        assert found == [("/t/a", 4, False), ("/t/b/c", 6, False), ("/t/b/d/e", 8, False)]
        assert len(list(driver.walk("/"))) == 4
        with pytest.raises(PathNotFound):
            list(driver.walk("/missing"))

    # -- move, delete ----------------------------------------------------------------

    def test_move_overwrites_and_creates_parents(self, driver):
        driver.put_content("/src/blob", BINARY)
        driver.put_content("/dst/blob", b"old")
        driver.move("/src/blob", "/dst/blob")
        assert driver.get_content("/dst/blob") == BINARY
        with pytest.raises(PathNotFound):
            driver.stat("/src/blob")
        driver.move("/dst/blob", "/new/deep/blob")
        assert driver.get_content("/new/deep/blob") == BINARY

    def test_move_missing(self, driver):
        with pytest.raises(PathNotFound):
            driver.move("/missing", "/dst")
        with pytest.raises(PathNotFound):
            driver.stat("/dst")

    def test_delete_recursive(self, driver, leftovers):
        for path in ("/d/x/a", "/d/x/b/c", "/d/x-y", "/d/xa"):
            driver.put_content(path, b"1")
        writer = driver.writer("/d/x/pending")
        writer.write(pattern(part_size(driver) + 5))
        writer.close()
        driver.delete("/d/x")
        assert driver.list("/d") == ["/d/x-y", "/d/xa"]
        with pytest.raises(PathNotFound):
            driver.writer("/d/x/pending", append=True)
        driver.delete("/d/x-y")
        assert driver.list("/d") == ["/d/xa"]
        driver.delete("/d")
        with pytest.raises(PathNotFound):
            driver.delete("/d")
        with pytest.raises(PathNotFound):
            driver.stat("/d")
        assert leftovers() == []

    # -- paths -----------------------------------------------------------------------

    def test_invalid_paths_rejected(self, driver):
        driver.put_content("/ok", b"x")
        for path in INVALID_PATHS:
            calls = {
                "get_content": lambda p: driver.get_content(p),
                "put_content": lambda p: driver.put_content(p, b"x"),
                "reader": lambda p: driver.reader(p),
                "writer": lambda p: driver.writer(p),
                "delete": lambda p: driver.delete(p),
                "move from": lambda p: driver.move(p, "/ok"),
                "move to": lambda p: driver.move("/ok", p),
                "local_path": lambda p: driver.local_path(p),
                "redirect_url": lambda p: driver.redirect_url(p),
                "list start_after": lambda p: driver.list("/", start_after=p),
            }
            if path != "/":
                calls |= {"stat": driver.stat, "list": driver.list, "walk": driver.walk}
            for what, call in calls.items():
                with pytest.raises(InvalidPath):
                    list(call(path)) if what == "walk" else call(path)
                    pytest.fail(f"{what}({path!r}) accepted an invalid path")
        assert driver.get_content("/ok") == b"x"
        assert driver.list("/") == ["/ok"]

    def test_valid_path_characters(self, driver):
        path = "/A-Z_a.z/0-9/..hidden/x.y-z_"
        driver.put_content(path, b"ok")
        assert driver.get_content(path) == b"ok"

    # -- per-backend access paths ----------------------------------------------------

    def test_local_path_and_redirect_url(self, driver):
        driver.put_content("/direct/blob", BINARY)
        local = driver.local_path("/direct/blob")
        url = driver.redirect_url("/direct/blob")
        if driver.name == "filesystem":
            with open(local, "rb") as stream:
                assert stream.read() == BINARY
            with pytest.raises(PathNotFound):
                driver.local_path("/direct/missing")
        else:
            assert local is None
        if driver.name == "s3" and driver.redirect:
            response = requests.get(url, timeout=10)
            assert response.status_code == 200
            assert response.content == BINARY
            head = requests.head(driver.redirect_url("/direct/blob", "HEAD"), timeout=10)
            assert head.status_code == 200
        else:
            assert url is None
