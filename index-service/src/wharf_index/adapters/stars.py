"""SQL for stars: who starred which repository, and counts."""

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

    def counts(self, repository_ids: list[int]) -> dict[int, int]:
        """Return ``{repository id: stars}`` (0 for repositories nobody starred)."""
        rows = self._all(
            "SELECT repository_id, count(*) FROM stars WHERE repository_id = ANY(%s)"
            " GROUP BY repository_id",
            (list(repository_ids),),
        )
        found = {rid: int(n) for rid, n in rows}
        return {rid: found.get(rid, 0) for rid in repository_ids}

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
