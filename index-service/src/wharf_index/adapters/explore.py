"""SQL for the home page's lists and the last push of repositories shown in a list.

``recently_pushed`` walks the newest tags (index ``tags_pushed_at_idx``, migration 0020)
and keeps the first of each public repository: at most ``scan`` tags are read, so a burst
of pushes to few repositories may make the list shorter than ``limit``, never slower.
``most_starred`` walks ``star_counts`` from the most stars down (``star_counts_most_idx``,
migration 0028; triggers on ``stars`` keep it) and keeps the public active repositories.
"""

# ruff: noqa: S608 - interpolated parts are constant SQL fragments; values travel as
# query parameters.

from __future__ import annotations

from datetime import datetime

from ..domain.model import Repository
from .base import Store
from .repository_rows import REPOSITORY_COLUMNS, repository_from_row

_PUBLIC = "r.visibility = 'public' AND r.status = 'active'"


class PgExploreStore(Store):
    def recently_pushed(self, limit: int, scan: int = 500) -> list[tuple[Repository, datetime]]:
        """Return (repository, last push) of public repositories, newest push first."""
        rows = self._all(
            f"SELECT {REPOSITORY_COLUMNS}, t.pushed_at FROM"
            " (SELECT DISTINCT ON (repository_id) repository_id, pushed_at"
            "  FROM (SELECT repository_id, pushed_at FROM tags"
            "        ORDER BY pushed_at DESC LIMIT %(scan)s) newest"
            "  ORDER BY repository_id, pushed_at DESC) t"
            f" JOIN repositories r ON r.id = t.repository_id WHERE {_PUBLIC}"
            " ORDER BY t.pushed_at DESC, r.full_name LIMIT %(limit)s",
            {"scan": scan, "limit": limit},
        )
        return [(repository_from_row(row[:-1]), row[-1]) for row in rows]

    def most_starred(self, limit: int) -> list[Repository]:
        """Return starred public repositories, most stars first (ties by name)."""
        rows = self._all(
            f"SELECT {REPOSITORY_COLUMNS} FROM star_counts s"
            f" JOIN repositories r ON r.id = s.repository_id WHERE {_PUBLIC}"
            " AND s.star_count > 0 ORDER BY s.star_count DESC, r.full_name LIMIT %(limit)s",
            {"limit": limit},
        )
        return [repository_from_row(row) for row in rows]

    def last_pushed(self, repository_ids: list[int]) -> dict[int, datetime]:
        """Return ``{repository id: time of its newest tag push}`` (repositories with tags)."""
        if not repository_ids:
            return {}
        rows = self._all(
            "SELECT repository_id, max(pushed_at) FROM tags"
            " WHERE repository_id = ANY(%(ids)s) GROUP BY repository_id",
            {"ids": repository_ids},
        )
        return dict(rows)
