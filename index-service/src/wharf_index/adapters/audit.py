"""SQL for the audit log (append-only: who did what, when, to what)."""

# ruff: noqa: S608 - interpolated parts are this module's constant column lists; values
# always travel as query parameters.

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from psycopg2.extras import Json

from ..domain.records import AuditEntry, AuditRecord
from .base import Store

_COLUMNS = "id, at, actor_name, action, target_type, target, detail"
_EVERY_COLUMN = (
    "id, at, actor_id, actor_name, action, target_type, target, namespace_id, repository_id,"
    " detail, request_id, remote_addr"
)


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
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first; ``before_id`` continues after the last entry seen; ``action`` an exact
        action name; ``since <= at < until`` when given."""
        rows = self._all(
            f"SELECT {_COLUMNS} FROM audit_log WHERE (%(ns)s::bigint IS NULL OR"
            " namespace_id = %(ns)s) AND (%(actor)s::bigint IS NULL OR actor_id = %(actor)s)"
            " AND (%(action)s::text IS NULL OR action = %(action)s)"
            " AND (%(since)s::timestamptz IS NULL OR at >= %(since)s)"
            " AND (%(until)s::timestamptz IS NULL OR at < %(until)s)"
            " AND (%(before)s::bigint IS NULL OR id < %(before)s) ORDER BY id DESC"
            " LIMIT %(limit)s",
            {
                "ns": namespace_id,
                "actor": actor_id,
                "action": action,
                "since": since,
                "until": until,
                "before": before_id,
                "limit": limit,
            },
        )
        return [AuditEntry(*row) for row in rows]

    def export(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actions: Sequence[str] = (),
        batch: int = 1000,
    ) -> Iterator[AuditRecord]:
        """Yield the entries with ``since <= at < until`` (and an action of ``actions`` when
        given), oldest first (by id), through a server-side cursor fetching ``batch`` rows at a
        time: the log is never held in memory. Needs an open transaction (``with uow``) for as
        long as the iteration lasts."""
        with self.conn.cursor(name="wharf_audit_export") as cur:
            cur.itersize = batch
            cur.execute(
                f"SELECT {_EVERY_COLUMN} FROM audit_log"
                " WHERE (%(since)s::timestamptz IS NULL OR at >= %(since)s)"
                " AND (%(until)s::timestamptz IS NULL OR at < %(until)s)"
                " AND (cardinality(%(actions)s::text[]) = 0 OR action = ANY(%(actions)s))"
                " ORDER BY id",
                {"since": since, "until": until, "actions": list(actions)},
            )
            for row in cur:
                yield AuditRecord(*row)
