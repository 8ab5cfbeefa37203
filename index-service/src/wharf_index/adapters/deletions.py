"""SQL for repository deletions in progress (scenario C; table of migration 0008).

A deletion is a repository with status ``deleting`` plus, in ``repository_deletions``, who
asked, how many attempts were made, the last error and a lease (``next_attempt_at``) that
keeps two drivers (API request, redrive thread, ``wharf-index repo redrive``) from calling
the registries at the same moment. The row goes with the repository (ON DELETE CASCADE).
"""

from __future__ import annotations

from ..domain.records import DeletionState
from .base import Store

_COLUMNS = (
    "repository_id, requested_by, requested_at, attempts, last_attempt_at, last_error,"
    " next_attempt_at"
)


class PgDeletionStore(Store):
    def requested(self, repository_id: int, requested_by: str) -> None:
        """Record that a deletion was asked for (keeps the first request's time)."""
        self._exec(
            "INSERT INTO repository_deletions (repository_id, requested_by) VALUES (%s, %s)"
            " ON CONFLICT (repository_id) DO NOTHING",
            (repository_id, requested_by),
        )

    def claim(self, repository_id: int, lease_seconds: int, *, force: bool = False) -> bool:
        """Take the lease for ``lease_seconds`` unless another driver holds it (``force``:
        take it anyway). Creates the row when missing (status set elsewhere)."""
        row = self._one(
            "INSERT INTO repository_deletions AS d (repository_id, next_attempt_at)"
            " VALUES (%(id)s, now() + make_interval(secs => %(lease)s))"
            " ON CONFLICT (repository_id) DO UPDATE SET next_attempt_at = EXCLUDED.next_attempt_at"
            " WHERE %(force)s OR d.next_attempt_at <= now() RETURNING 1",
            {"id": repository_id, "lease": lease_seconds, "force": force},
        )
        return row is not None

    def attempted(self, repository_id: int, error: str | None) -> None:
        """Count an attempt; a failed one (``error``) is due again at once (lease released)."""
        self._exec(
            "UPDATE repository_deletions SET attempts = attempts + 1, last_attempt_at = now(),"
            " last_error = %(error)s, next_attempt_at = CASE WHEN %(error)s::text IS NULL"
            " THEN next_attempt_at ELSE now() END WHERE repository_id = %(id)s",
            {"id": repository_id, "error": error},
        )

    def find(self, repository_id: int) -> DeletionState | None:
        row = self._one(
            f"SELECT {_COLUMNS} FROM repository_deletions WHERE repository_id = %s",  # noqa: S608
            (repository_id,),
        )
        return DeletionState(*row) if row else None

    def pending(self, *, due_only: bool = True, limit: int = 1000) -> list[str]:
        """Full names of repositories in ``deleting`` (only those whose lease expired when
        ``due_only``), oldest request first."""
        rows = self._all(
            "SELECT r.full_name FROM repositories r"
            " LEFT JOIN repository_deletions d ON d.repository_id = r.id"
            " WHERE r.status = 'deleting'"
            " AND (NOT %(due)s OR d.next_attempt_at IS NULL OR d.next_attempt_at <= now())"
            " ORDER BY d.requested_at NULLS FIRST, r.full_name LIMIT %(limit)s",
            {"due": due_only, "limit": limit},
        )
        return [row[0] for row in rows]
