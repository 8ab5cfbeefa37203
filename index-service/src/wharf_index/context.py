"""Per-app runtime objects, reached from views with :func:`current` / :func:`uow`.

``create_app`` stores an :class:`IndexContext` in ``app.extensions["wharf_index"]``. Views
(and the other surfaces' code) do::

    from wharf_index.context import current, uow
    principal = authentication.authenticate(uow(), username, password)
    issuer = current().settings ...

Nothing here connects to the database: the pool is created on first use in each worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from .adapters.db import Database
from .adapters.unit_of_work import PgUnitOfWork
from .services.config import ServiceConfig
from .services.unit_of_work import UnitOfWork
from .settings import Settings

EXTENSION = "wharf_index"


@dataclass
class IndexContext:
    """Settings, the database and service configuration of one app; ``extras`` is free
    room for other surfaces' per-app objects (token issuer, credential cache, ...)."""

    settings: Settings
    db: Database
    config: ServiceConfig
    extras: dict[str, Any] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        """Return a new unit of work (no connection until ``with``)."""
        return PgUnitOfWork(self.db, self.config)


def current() -> IndexContext:
    """Return the IndexContext of the app serving the current request/app context."""
    return current_app.extensions[EXTENSION]


def uow() -> UnitOfWork:
    """Return a new unit of work for the current app."""
    return current().uow()
