"""The small base every SQL store shares: run a statement on the unit of work's connection.

Hot statements (the token endpoint's and token verification's) run as server-side prepared
statements (:class:`Prepared`, :meth:`Store._prepared`): planning them is most of their
cost in PostgreSQL (the grant query: ~1 ms to plan, ~0.2 ms to run). psycopg2 has no
prepare API, so the SQL-level ``PREPARE`` / ``EXECUTE`` is used: each connection made by a
Database (adapters/db.py) carries ``prepared_statements``, the names PREPAREd in its
session; a new connection (a reconnect, a restarted server) starts with none and prepares
again on first use. A prepared statement outlives the transaction that prepared it, even
one rolled back (PostgreSQL: prepared statements are not transactional). Connections
without that attribute (made outside a Database) run the same SQL unprepared. The
statements need one server session per connection: a pooler in transaction mode between
the Index and PostgreSQL (PgBouncer ``pool_mode = transaction``) is not supported; in
autocommit a statement found missing (``DISCARD ALL``) is prepared again and retried once.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import psycopg2.errors

logger = logging.getLogger(__name__)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


class Prepared:
    """One statement written with named placeholders (``%(name)s``), as a PREPARE text
    (``$1``... in order of first use) and the EXECUTE that passes the values by name.

    ``prefix`` is sent in the same message before the EXECUTE (or the plain SQL), e.g. a
    ``set_config`` for the implicit transaction of both."""

    def __init__(self, name: str, sql: str, prefix: str = "") -> None:
        keys: list[str] = []

        def number(match: re.Match) -> str:
            if match.group(1) not in keys:
                keys.append(match.group(1))
            return f"${keys.index(match.group(1)) + 1}"

        self.name, self.sql, self.keys = name, prefix + sql, tuple(keys)
        self.prepare = f"PREPARE {name} AS " + _PLACEHOLDER.sub(number, sql).replace("%%", "%")
        arguments = ", ".join(f"%({key})s" for key in keys)
        self.execute = prefix + f"EXECUTE {name}" + (f"({arguments})" if keys else "")

    def __repr__(self) -> str:
        return f"<Prepared {self.name}>"


class Store:
    """Wrap one connection; subclasses hold the SQL for one aggregate."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def _one(self, sql: str, params: Any = None) -> tuple | None:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()

    def _all(self, sql: str, params: Any = None) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def _exec(self, sql: str, params: Any = None) -> int:
        """Run a statement; return the number of rows it affected."""
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.rowcount

    def _prepared(self, statement: Prepared, params: dict[str, Any]) -> tuple[list[tuple], int]:
        """Run ``statement`` prepared on this connection (PREPAREd first if it is not yet);
        return its rows (empty when it returns none) and the rows it affected."""
        names: set[str] | None = getattr(self.conn, "prepared_statements", None)
        with self.conn.cursor() as cur:
            if names is None:
                cur.execute(statement.sql, params)
            else:
                self._execute_prepared(cur, names, statement, params)
            return (cur.fetchall() if cur.description else []), cur.rowcount

    def _execute_prepared(self, cur, names: set[str], statement: Prepared, params) -> None:
        for attempt in (1, 2):
            if statement.name not in names:
                try:
                    cur.execute(statement.prepare)
                except psycopg2.errors.DuplicatePreparedStatement:
                    if not self.conn.autocommit:
                        raise
                names.add(statement.name)
            try:
                cur.execute(statement.execute, params)
                return
            except psycopg2.errors.InvalidSqlStatementName:
                names.discard(statement.name)  # the session lost it (DISCARD ALL)
                logger.warning(
                    "prepared statement %s was missing from its database session (a pooler"
                    " in transaction mode?); it is prepared again",
                    statement.name,
                )
                if attempt == 2 or not self.conn.autocommit:
                    raise


def like_pattern(text: str) -> str:
    """Return ``%text%`` with LIKE wildcards in ``text`` escaped (backslash is the escape)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
