"""The conformance suite on the filesystem driver, plus its crash-safety layout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from driver_suite import BINARY, DriverSuite
from wharf_registry.storage import (
    FilesystemDriver,
    PathNotFound,
    StorageConfigError,
    create_driver,
)


@pytest.fixture
def root(tmp_path):
    return tmp_path / "storage"


@pytest.fixture
def driver(root):
    return FilesystemDriver.from_params({"rootdirectory": str(root)})


@pytest.fixture
def reopen(root):
    return lambda: FilesystemDriver(str(root))


@pytest.fixture
def leftovers(root):
    def files() -> list[str]:
        return sorted(
            os.path.relpath(os.path.join(top, name), root)
            for top, _, names in os.walk(root)
            for name in names
        )

    return files


class TestFilesystemDriver(DriverSuite):
    """Everything in :mod:`driver_suite`, on a temporary directory."""


def test_files_live_under_the_root(driver, root):
    driver.put_content("/docker/registry/v2/blob", BINARY)
    assert (root / "docker" / "registry" / "v2" / "blob").read_bytes() == BINARY


def test_uncommitted_bytes_never_take_the_final_name(driver, root, leftovers):
    writer = driver.writer("/up/data")
    writer.write(b"partial")
    assert not (root / "up" / "data").exists()
    writer.close()
    assert not (root / "up" / "data").exists()
    assert leftovers() == ["up/.wharf-pending.data"]
    resumed = driver.writer("/up/data", append=True)
    resumed.write(b" and the rest")
    resumed.commit()
    assert leftovers() == ["up/data"]
    assert (root / "up" / "data").read_bytes() == b"partial and the rest"


def test_rootdirectory_is_required():
    with pytest.raises(StorageConfigError, match="rootdirectory is required"):
        create_driver("filesystem", {})
    with pytest.raises(StorageConfigError, match="rootdirectory is required"):
        create_driver("filesystem", {"rootdirectory": ""})


def test_unknown_parameter_is_named(tmp_path):
    with pytest.raises(StorageConfigError, match="rootdir"):
        create_driver("filesystem", {"rootdirectory": str(tmp_path), "rootdir": "x"})


def test_unusable_rootdirectory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(StorageConfigError, match="rootdirectory"):
        create_driver("filesystem", {"rootdirectory": str(blocker / "below")})


KILLED_WRITER = """
import os, signal, sys
from wharf_registry.storage import FilesystemDriver
driver = FilesystemDriver(sys.argv[1])
first = driver.writer("/up/data")
first.write(b"request one;")
first.close()
second = driver.writer("/up/data", append=True)
second.write(b"request two, cut short")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_kill_9_mid_write_shows_nothing_at_the_final_name(root):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(root)], env=env, check=False, timeout=60
    )
    assert child.returncode == -signal.SIGKILL
    driver = FilesystemDriver(str(root))
    with pytest.raises(PathNotFound):
        driver.stat("/up/data")
    assert driver.list("/up") == []
    resumed = driver.writer("/up/data", append=True)
    assert resumed.size >= len(b"request one;")
    resumed.commit()
    assert driver.get_content("/up/data").startswith(b"request one;")
