"""The small base every SQL store shares: run a statement on the unit of work's connection."""

from __future__ import annotations

from typing import Any


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


def like_pattern(text: str) -> str:
    """Return ``%text%`` with LIKE wildcards in ``text`` escaped (backslash is the escape)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
