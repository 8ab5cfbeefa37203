"""SQL for pull rate limit counts (table of migration 0017; domain/pull_limits.py).

The token endpoint's read is a prepared statement (adapters/base.py), as the rest of its path.
"""

from __future__ import annotations

from .base import Prepared, Store

_COUNT = Prepared(
    "wharf_pull_count",
    "SELECT pulls FROM pull_counts WHERE subject = %(subject)s"
    " AND window_seconds = %(window)s AND window_start = to_timestamp(%(start)s)",
)


class PgPullCountStore(Store):
    def count(self, subject: str, window: int, start: int) -> int:
        """Pulls of ``subject`` in the ``window``-second window starting at ``start`` (Unix
        seconds); 0 when none were counted."""
        rows, _ = self._prepared(_COUNT, {"subject": subject, "window": window, "start": start})
        return int(rows[0][0]) if rows else 0

    def add(self, subject: str, window: int, start: int, pulls: int) -> None:
        """Add ``pulls`` to ``subject``'s count in that window (one upsert)."""
        self._exec(
            "INSERT INTO pull_counts AS c (subject, window_seconds, window_start, window_end,"
            " pulls) VALUES (%(subject)s, %(window)s, to_timestamp(%(start)s),"
            " to_timestamp(%(start)s + %(window)s), %(pulls)s)"
            " ON CONFLICT (subject, window_seconds, window_start)"
            " DO UPDATE SET pulls = c.pulls + EXCLUDED.pulls",
            {"subject": subject, "window": window, "start": start, "pulls": pulls},
        )

    def prune_ended(self, limit: int) -> int:
        """Delete up to ``limit`` counts of windows that have ended; return how many."""
        return self._exec(
            "DELETE FROM pull_counts WHERE ctid = ANY(ARRAY(SELECT ctid FROM pull_counts"
            " WHERE window_end <= now() LIMIT %(limit)s)) AND window_end <= now()",
            {"limit": limit},
        )

    def count_ended(self) -> int:
        """How many counts :meth:`prune_ended` would delete in all."""
        row = self._one("SELECT count(*) FROM pull_counts WHERE window_end <= now()")
        return int(row[0])
