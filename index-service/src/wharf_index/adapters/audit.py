"""SQL for the audit log (append-only: who did what, when, to what)."""

# ruff: noqa: S608 - interpolated parts are this module's constant column lists; values
# always travel as query parameters.

from __future__ import annotations

from psycopg2.extras import Json

from ..domain.records import AuditEntry
from .base import Store

_COLUMNS = "id, at, actor_name, action, target_type, target, detail"


class PgAuditStore(Store):
    def record(
        self,
        action: str,
        *,
        actor_id: int | None = None,
        actor_name: str = "",
        target_type: str = "",
        target: str = "",
        namespace_id: int | None = None,
        repository_id: int | None = None,
        detail: dict | None = None,
        request_id: str = "",
        remote_addr: str = "",
    ) -> None:
        """Append one entry. ``detail`` must never hold secrets."""
        self._exec(
            "INSERT INTO audit_log (actor_id, actor_name, action, target_type, target,"
            " namespace_id, repository_id, detail, request_id, remote_addr)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                actor_id,
                actor_name,
                action,
                target_type,
                target,
                namespace_id,
                repository_id,
                Json(detail or {}),
                request_id,
                remote_addr,
            ),
        )

    def list(
        self,
        *,
        namespace_id: int | None = None,
        actor_id: int | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first; ``before_id`` continues after the last entry seen."""
        rows = self._all(
            f"SELECT {_COLUMNS} FROM audit_log WHERE (%(ns)s::bigint IS NULL OR"
            " namespace_id = %(ns)s) AND (%(actor)s::bigint IS NULL OR actor_id = %(actor)s)"
            " AND (%(before)s::bigint IS NULL OR id < %(before)s) ORDER BY id DESC"
            " LIMIT %(limit)s",
            {"ns": namespace_id, "actor": actor_id, "before": before_id, "limit": limit},
        )
        return [AuditEntry(*row) for row in rows]
