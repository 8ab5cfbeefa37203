"""The pytest plugin: fixtures for PostgreSQL, S3 (moto) and gunicorn services.

Loaded through the ``pytest11`` entry point ``wharf_testing.plugin``, or with
``-p wharf_testing.plugin`` (the same name, so both together register it once).
Servers are stopped by their fixtures' finalizers; whatever is still running when the
session ends (an interrupted run) is stopped in ``pytest_sessionfinish``/``pytest_unconfigure``
and, as a last resort, by ``atexit``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from . import processes
from .postgres import ExternalPostgres, PostgresServer
from .s3 import ENDPOINT_ENV, ExternalS3, MotoServer
from .services import GunicornService

DATABASE_URL_ENV = "INDEX_TEST_DATABASE_URL"
SERVICES = pytest.StashKey[list[GunicornService]]()
_PREEXISTING = pytest.StashKey[list[processes.Stoppable]]()
_AMBIENT_AWS = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | ExternalPostgres]:
    """A running PostgreSQL for the session (``INDEX_TEST_DATABASE_URL`` if set)."""
    url = os.environ.get(DATABASE_URL_ENV)
    server = ExternalPostgres(url) if url else PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_database(postgres) -> Iterator[Callable[..., str]]:
    """Factory ``(template=None) -> url`` of fresh databases, dropped at teardown."""
    created: list[str] = []

    def make(template: str | None = None) -> str:
        name = f"wharf_test_{uuid.uuid4().hex[:16]}"
        url = postgres.create_database(name, template=template)
        created.append(name)
        return url

    yield make
    for name in reversed(created):
        postgres.drop_database(name)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoServer | ExternalS3]:
    """A running S3 endpoint for the session (``REGISTRY_TEST_S3_ENDPOINT_URL`` if set).

    While it runs, the test process's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
    AWS_DEFAULT_REGION are its :attr:`credentials` (ambient profiles/tokens removed), so
    plain ``boto3`` calls work; pass ``.credentials`` into subprocess environments.
    """
    endpoint = os.environ.get(ENDPOINT_ENV)
    server = ExternalS3(endpoint) if endpoint else MotoServer()
    server.start()
    try:
        with pytest.MonkeyPatch.context() as mp:
            for name in _AMBIENT_AWS:
                mp.delenv(name, raising=False)
            for name, value in server.credentials.items():
                mp.setenv(name, value)
            yield server
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A fresh, empty bucket on :func:`s3_server`; returns its name."""
    return s3_server.create_bucket()


@pytest.fixture
def service_factory(request: pytest.FixtureRequest) -> Iterator[Callable[..., GunicornService]]:
    """Factory ``(app, env, name, **kw) -> GunicornService``, started (see GunicornService).

    Services are stopped at teardown; when a test fails, each service's log is attached to
    the failure report as a section "wharf service <name> log".
    """
    services = request.node.stash.setdefault(SERVICES, [])

    def start(app: str, env, name: str, **kw) -> GunicornService:
        service = GunicornService(app, env, name, **kw)
        services.append(service)
        return service.start()

    yield start
    for service in reversed(services):
        service.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attach the logs of the item's services to any failed phase's report."""
    report = yield
    if report.failed:
        for service in item.stash.get(SERVICES, []):
            report.sections.append((f"wharf service {service.name} log", service.log()))
    return report


def pytest_configure(config: pytest.Config) -> None:
    # An in-process pytester run must not stop the servers of the run around it.
    config.stash[_PREEXISTING] = processes.live()


def pytest_sessionfinish(session: pytest.Session) -> None:
    processes.stop_all(keep=session.config.stash.get(_PREEXISTING, []))


def pytest_unconfigure(config: pytest.Config) -> None:
    processes.stop_all(keep=config.stash.get(_PREEXISTING, []))
