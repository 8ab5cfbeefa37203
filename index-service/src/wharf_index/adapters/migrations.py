"""Apply the numbered SQL migrations in ``wharf_index/migrations/`` (``wharf-index migrate``).

Files are named ``NNNN_description.sql`` and applied in numeric order, each in its own
transaction together with its row in ``schema_migrations`` (version, name, checksum,
applied_at): a failing file leaves nothing behind and stops the run. A second run applies
nothing. Concurrent runs (several replicas starting at once) serialise on a PostgreSQL
advisory lock, so each file is applied exactly once. Forward-only: a file already applied
must not change; a changed checksum is reported as a warning, never re-applied.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg2

from ..domain.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)

LOCK_ID = 0x5748_4152_4649_4458  # "WHARFIDX"; one bigint shared by every migrate run
_FILENAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(Exception):
    """A migration file is malformed, duplicated or failed to apply (message says which)."""


@dataclass(frozen=True)
class Migration:
    """One SQL file: ``version`` (the number), ``name`` (file name), ``sql``, ``checksum``."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover() -> list[Migration]:
    """Return the packaged migrations sorted by version; MigrationError on bad names."""
    found: dict[int, Migration] = {}
    for entry in resources.files("wharf_index").joinpath("migrations").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILENAME.match(entry.name)
        if not match:
            raise MigrationError(f"migration file {entry.name!r} is not named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations numbered {version:04d}")
        found[version] = Migration(version, entry.name, entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def migrate(url: str, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply every pending migration to the database at ``url``; return those applied.

    Raises MigrationError (naming the file) when one fails, after rolling it back;
    DatabaseUnavailable when the database cannot be reached.
    """
    migrations = discover() if migrations is None else migrations
    try:
        conn = psycopg2.connect(url, connect_timeout=10, application_name="wharf-index migrate")
    except psycopg2.Error as exc:
        raise DatabaseUnavailable(_first_line(exc)) from None
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        try:
            return _apply_pending(conn, migrations)
        finally:
            if not conn.closed:
                conn.rollback()
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", (LOCK_ID,))
    finally:
        conn.close()


def applied_versions(conn) -> dict[int, str]:
    """Return ``{version: checksum}`` of applied migrations ({} before the first run)."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        if not cur.fetchone()[0]:
            return {}
        cur.execute("SELECT version, checksum FROM schema_migrations")
        return dict(cur.fetchall())


def _apply_pending(conn, migrations: list[Migration]) -> list[Migration]:
    with conn.cursor() as cur:
        cur.execute(_BOOKKEEPING)
    done = applied_versions(conn)
    applied: list[Migration] = []
    conn.autocommit = False
    for migration in migrations:
        if migration.version in done:
            if done[migration.version] != migration.checksum:
                logger.warning("migration %s changed after it was applied", migration.name)
            continue
        try:
            with conn.cursor() as cur:
                cur.execute(migration.sql)
                cur.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            conn.commit()
        except psycopg2.Error as exc:
            conn.rollback()
            raise MigrationError(f"{migration.name} failed: {_first_line(exc)}") from exc
        logger.info("applied migration %s", migration.name)
        applied.append(migration)
    return applied


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
