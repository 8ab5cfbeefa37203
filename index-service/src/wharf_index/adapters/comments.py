"""SQL for comments on repositories."""

# ruff: noqa: S608 - interpolated parts are this module's constant column lists; values
# always travel as query parameters.

from __future__ import annotations

from ..domain.records import Comment
from .base import Store

_COLUMNS = "c.id, c.repository_id, c.author_id, u.username, c.body, c.created_at, c.updated_at"
_FROM = "comments c LEFT JOIN users u ON u.id = c.author_id"


class PgCommentStore(Store):
    def add(self, repository_id: int, author_id: int, body: str) -> Comment:
        row = self._one(
            "WITH c AS (INSERT INTO comments (repository_id, author_id, body)"
            " VALUES (%s, %s, %s) RETURNING *)"
            f" SELECT {_COLUMNS} FROM c LEFT JOIN users u ON u.id = c.author_id",
            (repository_id, author_id, body),
        )
        return Comment(*row)

    def find(self, repository_id: int, comment_id: int) -> Comment | None:
        row = self._one(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE c.repository_id = %s AND c.id = %s",
            (repository_id, comment_id),
        )
        return Comment(*row) if row else None

    def list(self, repository_id: int, *, after_id: int | None, limit: int) -> list[Comment]:
        """Oldest first (ids grow with time); ``after_id`` continues a listing."""
        rows = self._all(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE c.repository_id = %s"
            " AND (%s::bigint IS NULL OR c.id > %s) ORDER BY c.id LIMIT %s",
            (repository_id, after_id, after_id, limit),
        )
        return [Comment(*row) for row in rows]

    def update(self, comment_id: int, body: str) -> Comment | None:
        """Replace the body; ``updated_at`` becomes now. None when the comment is gone."""
        row = self._one(
            "WITH c AS (UPDATE comments SET body = %s, updated_at = now() WHERE id = %s"
            f" RETURNING *) SELECT {_COLUMNS} FROM c LEFT JOIN users u ON u.id = c.author_id",
            (body, comment_id),
        )
        return Comment(*row) if row else None

    def delete(self, comment_id: int) -> bool:
        return bool(self._exec("DELETE FROM comments WHERE id = %s", (comment_id,)))
