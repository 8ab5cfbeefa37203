"""The conformance suite on the in-memory driver, and the driver factory."""

from __future__ import annotations

import pytest
from driver_suite import DriverSuite
from wharf_registry.storage import _FACTORIES as FACTORIES
from wharf_registry.storage import (
    FilesystemDriver,
    InMemoryDriver,
    StorageConfigError,
    UnknownDriver,
    create_driver,
    register,
)


@pytest.fixture
def driver():
    return InMemoryDriver()


@pytest.fixture
def reopen(driver):
    return lambda: InMemoryDriver(driver.store)


@pytest.fixture
def leftovers(driver):
    return lambda: sorted(driver.store.files) + sorted(driver.store.pending)


class TestInMemoryDriver(DriverSuite):
    """Everything in :mod:`driver_suite`, in memory."""


def test_create_driver_by_name(tmp_path):
    assert isinstance(create_driver("inmemory", {}), InMemoryDriver)
    built = create_driver("filesystem", {"rootdirectory": str(tmp_path)})
    assert isinstance(built, FilesystemDriver)


def test_unknown_driver_names_the_available_ones():
    with pytest.raises(UnknownDriver) as info:
        create_driver("azure", {})
    assert info.value.name == "azure"
    assert info.value.available == ["filesystem", "inmemory", "s3"]
    assert "azure" in str(info.value) and "filesystem" in str(info.value)


def test_inmemory_takes_no_params():
    with pytest.raises(StorageConfigError, match="rootdirectory"):
        create_driver("inmemory", {"rootdirectory": "/x"})


def test_register_adds_a_factory(monkeypatch):
    monkeypatch.setitem(FACTORIES, "spare", lambda params: InMemoryDriver())
    assert create_driver("spare", {}).name == "inmemory"
    monkeypatch.delitem(FACTORIES, "spare")
    register("spare", lambda params: InMemoryDriver())
    assert "spare" in FACTORIES
