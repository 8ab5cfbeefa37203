"""The composition root: the Index's long-lived objects, built once per app (or command).

:func:`build_context` makes an :class:`IndexContext` from the settings: the database pool,
the service configuration, the key ring (services/signing_keys.py: the signing keys in the
database, cached), the token authority (issuer and verifier over the ring, credential cache),
the registry agent (the Index's own keys and the HTTP client for registries:
adapters/registry_http.py behind the domain's RegistryClient port) and the housekeeper
(services/housekeeping.py) and the metrics collector that reads the database when
``GET /metrics`` is scraped (services/metrics.py; None with INDEX_METRICS off).
``create_app`` builds one and stores it in ``app.extensions["wharf_index"]``; the command
line (cli.py) builds its own with the same function. Nothing is created later, by the
first request or blueprint that needs it.

The housekeeper is built here but not started: only served Indexes run its thread
(wsgi.py starts it in each gunicorn worker); tests and the command line never do.

Views (and the other surfaces' code) reach the context with :func:`current`, and a unit of
work with :func:`uow`::

    from wharf_index.context import current, uow
    principal = authentication.authenticate(uow(), username, password)
    grant = tokens.issue(uow(), current().authority, principal, service, scopes)

Nothing here connects to the database: the pool is created on first use in each worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from .adapters.db import Database
from .adapters.registry_http import RegistryHTTP
from .adapters.unit_of_work import PgUnitOfWork
from .domain.registry_client import RegistryClient
from .services.config import ServiceConfig
from .services.housekeeping import Housekeeper, housekeeper
from .services.metrics import DatabaseCollector
from .services.registry_agent import RegistryAgent
from .services.signing_keys import KeyRing
from .services.tokens import TokenAuthority
from .services.unit_of_work import UnitOfWork
from .settings import Settings

EXTENSION = "wharf_index"


@dataclass
class IndexContext:
    """One app's settings and long-lived objects (see the module docstring).

    ``housekeeper`` is None when every periodic task is turned off; it is not running
    unless wsgi.py started it.
    """

    settings: Settings
    db: Database
    config: ServiceConfig
    authority: TokenAuthority
    agent: RegistryAgent
    housekeeper: Housekeeper | None = None
    metrics: DatabaseCollector | None = None

    def uow(self) -> UnitOfWork:
        """Return a new unit of work (no connection until ``with``)."""
        return PgUnitOfWork(self.db, self.config)


def build_context(
    settings: Settings, *, db: Database | None = None, registry_client: RegistryClient | None = None
) -> IndexContext:
    """Build the long-lived objects of ``settings``. ``db`` replaces the pool the settings
    describe (tests share one; the command line uses one connection), ``registry_client``
    the HTTP client for registries (tests: one that does not sleep between retries)."""
    db = db or Database.from_settings(settings)
    config = ServiceConfig.from_settings(settings)
    keys = KeyRing.from_settings(settings, lambda: PgUnitOfWork(db, config))
    context = IndexContext(
        settings=settings,
        db=db,
        config=config,
        authority=TokenAuthority.from_settings(settings, keys),
        agent=RegistryAgent.from_settings(
            settings, registry_client or RegistryHTTP(verify=settings.registry_tls_ca or True), keys
        ),
    )
    context.housekeeper = housekeeper(settings, context.uow, context.agent)
    if settings.metrics:
        context.metrics = DatabaseCollector(context.uow)
    return context


def current() -> IndexContext:
    """Return the IndexContext of the app serving the current request/app context."""
    return current_app.extensions[EXTENSION]


def uow() -> UnitOfWork:
    """Return a new unit of work for the current app."""
    return current().uow()
