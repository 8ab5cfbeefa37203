"""Storage drivers: the port (:mod:`.base`) and its adapters, chosen by name.

``create_driver("filesystem", {"rootdirectory": "/var/lib/registry"})`` builds a driver;
an unknown name raises :class:`UnknownDriver` (never a silent fallback), bad parameters a
:class:`StorageConfigError` naming the parameter (each adapter's ``from_params`` checks its
own). Registrations are explicit calls below, not import side effects of the adapters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .base import (
    FileInfo,
    FileWriter,
    InvalidOffset,
    InvalidPath,
    PathNotFound,
    StorageConfigError,
    StorageDriver,
    StorageError,
)
from .filesystem import FilesystemDriver
from .inmemory import InMemoryDriver
from .s3 import S3Driver

Factory = Callable[[Mapping[str, object]], StorageDriver]

_FACTORIES: dict[str, Factory] = {}


class UnknownDriver(StorageConfigError):
    """No driver is registered under ``name``; ``available`` lists the registered ones."""

    def __init__(self, name: str, available: list[str]):
        super().__init__(f"unknown storage driver {name!r}; available: {', '.join(available)}")
        self.name = name
        self.available = available


def register(name: str, factory: Factory) -> None:
    """Make ``create_driver(name, params)`` call ``factory(params)``."""
    _FACTORIES[name] = factory


def create_driver(name: str, params: Mapping[str, object] | None = None) -> StorageDriver:
    """Build the driver registered as ``name`` from its ``params``.

    Raises UnknownDriver for an unregistered name and StorageConfigError for bad params.
    """
    factory = _FACTORIES.get(name)
    if factory is None:
        raise UnknownDriver(name, sorted(_FACTORIES))
    return factory(dict(params or {}))


register("inmemory", InMemoryDriver.from_params)
register("filesystem", FilesystemDriver.from_params)
register("s3", S3Driver.from_params)

__all__ = [
    "FileInfo",
    "FileWriter",
    "FilesystemDriver",
    "InMemoryDriver",
    "InvalidOffset",
    "InvalidPath",
    "PathNotFound",
    "S3Driver",
    "StorageConfigError",
    "StorageDriver",
    "StorageError",
    "UnknownDriver",
    "create_driver",
    "register",
]
