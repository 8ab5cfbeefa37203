"""SQL for stars: who starred which repository, and counts.

A repository's count is its row of ``star_counts`` (migration 0028: triggers on ``stars``
keep it in the transaction that stars or unstars, and in a user deletion's cascade), read
with the repository wherever one is listed (adapters/repository_rows.py)."""

# ruff: noqa: S608 - interpolated parts are constant column lists and the visibility
# clause from adapters.repository_rows; values always travel as query parameters.

from __future__ import annotations

from ..domain.model import Principal, Repository
from .base import Store
from .repository_rows import REPOSITORY_COLUMNS, repository_from_row, visible_clause


class PgStarStore(Store):
    def add(self, user_id: int, repository_id: int) -> bool:
        """Star; False when already starred (idempotent)."""
        return bool(
            self._exec(
                "INSERT INTO stars (user_id, repository_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (user_id, repository_id),
            )
        )

    def remove(self, user_id: int, repository_id: int) -> bool:
        return bool(
            self._exec(
                "DELETE FROM stars WHERE user_id = %s AND repository_id = %s",
                (user_id, repository_id),
            )
        )

    def has(self, user_id: int, repository_id: int) -> bool:
        row = self._one(
            "SELECT 1 FROM stars WHERE user_id = %s AND repository_id = %s",
            (user_id, repository_id),
        )
        return row is not None

    def count(self, repository_id: int) -> int:
        """The repository's star count now (after a star or unstar of this transaction)."""
        row = self._one(
            "SELECT star_count FROM star_counts WHERE repository_id = %s", (repository_id,)
        )
        return int(row[0]) if row else 0

    def starred_by(
        self, user_id: int, principal: Principal, *, after: str | None, limit: int
    ) -> list[Repository]:
        """Repositories ``user_id`` starred that ``principal`` may see, by full name."""
        clause, params = visible_clause(principal)
        params.update(user=user_id, after=after, limit=limit)
        rows = self._all(
            f"SELECT {REPOSITORY_COLUMNS} FROM stars s"
            " JOIN repositories r ON r.id = s.repository_id"
            f" WHERE s.user_id = %(user)s AND {clause}"
            " AND (%(after)s::text IS NULL OR r.full_name > %(after)s)"
            " ORDER BY r.full_name LIMIT %(limit)s",
            params,
        )
        return [repository_from_row(row) for row in rows]
