"""Index test fixtures.

Database tests use the harness's PostgreSQL (``postgres`` / ``postgres_database`` from
wharf_testing): the schema is migrated once per session into a template database
(``template_db``). Tests share one copy of it, emptied before each test (DELETE from every
table, children first: ~20 ms, where a fresh ``CREATE DATABASE ... TEMPLATE`` copy costs
~250 ms). A test that needs a database of its own (it changes the schema, say) asks for
``postgres_database(template=template_db)``.

- ``db_url``: URL of the (emptied) migrated test database.
- ``database``: an adapters.db.Database (pool) on it; ``uow``: a PgUnitOfWork with fast
  password hashing (scrypt n=1024: tests only!) and a low login-throttle threshold (3).
- ``settings`` / ``app`` / ``client``: the Flask app on that database; ``index_key``: the
  app's active token signing key (made on first use).
- ``make_user(name, admin=False)``: create a user whose password is ``PASSWORD``.
- ``sql(statement, params=None)``: run SQL on the test database directly (autocommit).
- ``own_postgres``: a PostgreSQL cluster of the test's own (to stop, see
  tests/stopped_postgres.py), removed afterwards.
- :func:`terminate_sessions` cuts every other session to a database, as a PostgreSQL
  restart does, and returns once those backends are gone.
"""

from __future__ import annotations

import time
import uuid

import psycopg2
import pytest
from wharf_index.adapters import migrations
from wharf_index.adapters.db import Database
from wharf_index.adapters.unit_of_work import PgUnitOfWork
from wharf_index.app import create_app
from wharf_index.context import EXTENSION
from wharf_index.services import accounts
from wharf_index.services.config import ServiceConfig
from wharf_index.services.passwords import PasswordHasher
from wharf_index.settings import Settings
from wharf_testing.postgres import PostgresServer

PASSWORD = "correct horse battery staple"
SECRET_KEY = "test-secret-key-not-for-production"
FAST_HASHER = PasswordHasher(n=1024)


def terminate_sessions(url: str, timeout: float = 10.0) -> None:
    """Terminate every other session to the database of ``url`` and wait until they are gone.

    ``pg_terminate_backend`` only signals a backend: it returns before the backend has sent
    its termination notice and exited, so a test that uses a "terminated" connection at once
    would sometimes still find it working. Once a backend has left ``pg_stat_activity`` its
    notice has been written and its socket is closing.
    """
    conn = psycopg2.connect(url, connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT array_agg(pid) FILTER (WHERE pg_terminate_backend(pid))"
                " FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            )
            pids = cur.fetchone()[0] or []
            deadline = time.monotonic() + timeout
            while pids:
                cur.execute(
                    "SELECT array_agg(pid) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
                )
                pids = cur.fetchone()[0] or []
                if pids and time.monotonic() > deadline:
                    raise AssertionError(f"backends {pids} still running after {timeout}s")
                time.sleep(0.01)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def template_db(postgres):
    """Name of a database holding the migrated schema (created once per session)."""
    name = f"wharf_index_tpl_{uuid.uuid4().hex[:12]}"
    migrations.migrate(postgres.create_database(name))
    yield name
    postgres.drop_database(name)


@pytest.fixture(scope="session")
def _shared_db(postgres, template_db):
    name = f"wharf_index_test_{uuid.uuid4().hex[:12]}"
    url = postgres.create_database(name, template=template_db)
    yield url, _emptying_sql(url)
    postgres.drop_database(name)


def _emptying_sql(url: str) -> str:
    """DELETE statements for every table but schema_migrations, referencing tables last."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'schema_migrations'"
            )
            tables = {row[0] for row in cur.fetchall()}
            cur.execute(
                "SELECT conrelid::regclass::text, confrelid::regclass::text"
                " FROM pg_constraint WHERE contype = 'f'"
            )
            parents = {t: set() for t in tables}
            for child, parent in cur.fetchall():
                if child != parent:
                    parents[child].add(parent)
    finally:
        conn.close()
    order: list[str] = []
    while parents:  # children (tables nobody else references) first
        leaves = sorted(t for t in parents if not any(t in p for p in parents.values()))
        order += leaves
        for table in leaves:
            del parents[table]
    return "".join(f"DELETE FROM {table};" for table in order)  # noqa: S608 - catalog names


@pytest.fixture
def db_url(_shared_db) -> str:
    url, emptying = _shared_db
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(emptying)
    finally:
        conn.close()
    return url


@pytest.fixture
def own_postgres():
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sql(db_url):
    """Run SQL on the test database directly (autocommit): the rows, or None."""
    conn = psycopg2.connect(db_url)
    conn.autocommit = True

    def run(statement, params=None):
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else None

    yield run
    conn.close()


@pytest.fixture
def database(db_url):
    db = Database(db_url, minconn=0, maxconn=4, connect_timeout=5, pool_timeout=5)
    yield db
    db.close()


@pytest.fixture
def service_config() -> ServiceConfig:
    return ServiceConfig(
        hasher=FAST_HASHER, throttle_failures=3, throttle_delay=30, throttle_max_delay=600
    )


@pytest.fixture
def uow(database, service_config) -> PgUnitOfWork:
    return PgUnitOfWork(database, service_config)


@pytest.fixture
def make_user(uow):
    def make(name: str, *, admin: bool = False, email: str | None = None):
        return accounts.create_user(
            uow, name, email or f"{name}@example.test", PASSWORD, admin=admin
        )

    return make


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(
        database_url=db_url,
        secret_key=SECRET_KEY,
        password_scrypt_n=1024,
        log_format="text",
        login_throttle_failures=3,
    )


@pytest.fixture
def app(settings, database):
    app = create_app(settings, pool=database)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def index_key(app):
    return app.extensions[EXTENSION].authority.keys.signing_key()
