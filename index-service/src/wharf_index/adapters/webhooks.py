"""SQL for webhooks, their delivery queue and log (migration 0014), the managing side.

What the worker does with the queue (locking a webhook, sending, recording attempts,
disabling) is adapters/webhook_queue.py's. Here: the webhooks themselves, the matching of
an event to webhooks, queueing a delivery (with ``pg_notify('wharf_webhooks', '')`` in the
same transaction, so a listening worker wakes when it commits), reading the log,
redelivery, receivers' callbacks and pruning.
"""

# ruff: noqa: S608 - interpolated parts are this module's constant column lists and column
# names from _UPDATABLE; values always travel as query parameters.

from __future__ import annotations

from ..domain.model import Repository
from ..domain.records import Webhook, WebhookAttempt, WebhookCallback, WebhookDelivery
from .base import Store

NOTIFY_CHANNEL = "wharf_webhooks"
_HOOK_COLUMNS = (
    "w.id, w.namespace_id, n.name, w.repository_id, w.repository_name, w.name, w.url,"
    " w.format, w.events, w.tag_pattern, w.active, w.disabled_reason,"
    " w.consecutive_failures, u.username, w.created_at, w.updated_at"
)
_HOOK_FROM = (
    "webhooks w JOIN namespaces n ON n.id = w.namespace_id LEFT JOIN users u ON u.id = w.created_by"
)
_DELIVERY_COLUMNS = (
    "d.id, d.delivery_id::text, d.webhook_id, d.event, d.status, d.attempts,"
    " d.next_attempt_at, d.created_at, d.finished_at, d.callback_state,"
    " d.callback_description, d.callback_context, d.callback_target_url, d.callback_at"
)
_UPDATABLE = frozenset(
    {
        "url",
        "name",
        "events",
        "tag_pattern",
        "format",
        "active",
        "disabled_reason",
        "consecutive_failures",
        "secret_sealed",
    }
)
_INSERTED = ("name", "url", "format", "events", "tag_pattern", "secret_sealed", "created_by")


def _webhook(row: tuple) -> Webhook:
    values = list(row)
    values[8] = tuple(values[8])
    return Webhook(*values)


def _delivery(row: tuple, attempts: tuple[WebhookAttempt, ...] = ()) -> WebhookDelivery:
    state, description, context, target_url, at = row[9:14]
    callback = WebhookCallback(state, description, context, target_url, at) if state else None
    return WebhookDelivery(*row[:9], callback=callback, attempts=attempts)


class PgWebhookStore(Store):
    def create(self, namespace_id: int, repository: Repository | None, **values) -> Webhook:
        row = self._one(
            "WITH w AS (INSERT INTO webhooks (namespace_id, repository_id, repository_name,"
            f" {', '.join(_INSERTED)}) VALUES (%s, %s, %s{', %s' * len(_INSERTED)})"
            f" RETURNING *) SELECT {_HOOK_COLUMNS} FROM {_HOOK_FROM.replace('webhooks w', 'w')}",
            (
                namespace_id,
                repository.id if repository else None,
                repository.full_name if repository else None,
                *(values[name] for name in _INSERTED),
            ),
        )
        return _webhook(row)

    def find(self, webhook_id: int, *, for_update: bool = False) -> Webhook | None:
        lock = " FOR UPDATE OF w" if for_update else ""
        row = self._one(
            f"SELECT {_HOOK_COLUMNS} FROM {_HOOK_FROM} WHERE w.id = %s{lock}", (webhook_id,)
        )
        return _webhook(row) if row else None

    def list(
        self,
        *,
        namespace_id: int | None = None,
        repository_id: int | None = None,
        after_id: int | None,
        limit: int,
    ) -> list[Webhook]:
        if repository_id is not None:
            where, key = "w.repository_id = %s", repository_id
        else:
            where, key = "w.namespace_id = %s AND w.repository_name IS NULL", namespace_id
        rows = self._all(
            f"SELECT {_HOOK_COLUMNS} FROM {_HOOK_FROM} WHERE {where}"
            " AND (%s::bigint IS NULL OR w.id > %s) ORDER BY w.id LIMIT %s",
            (key, after_id, after_id, limit),
        )
        return [_webhook(row) for row in rows]

    def update(self, webhook_id: int, **values) -> Webhook:
        unknown = set(values) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        if values:
            assignments = ", ".join(f"{name} = %s" for name in values)
            self._exec(
                f"UPDATE webhooks SET {assignments}, updated_at = now() WHERE id = %s",
                (*values.values(), webhook_id),
            )
        found = self.find(webhook_id)
        if found is None:
            raise LookupError(webhook_id)
        return found

    def delete(self, webhook_id: int) -> bool:
        return bool(self._exec("DELETE FROM webhooks WHERE id = %s", (webhook_id,)))

    def matching(self, namespace_id: int, repository_id: int, event: str) -> list[Webhook]:
        rows = self._all(
            f"SELECT {_HOOK_COLUMNS} FROM {_HOOK_FROM} WHERE w.active AND %s = ANY (w.events)"
            " AND (w.repository_id = %s"
            " OR (w.namespace_id = %s AND w.repository_name IS NULL)) ORDER BY w.id",
            (event, repository_id, namespace_id),
        )
        return [_webhook(row) for row in rows]

    def repository_counts(self, repository_id: int) -> tuple[int, int]:
        row = self._one(
            "SELECT coalesce((SELECT star_count FROM star_counts WHERE repository_id = %s), 0),"
            " (SELECT count(*) FROM comments WHERE repository_id = %s)",
            (repository_id, repository_id),
        )
        return int(row[0]), int(row[1])

    def enqueue(
        self, webhook_id: int, delivery_id: str, event: str, body: str, callback_token: str
    ) -> WebhookDelivery:
        row = self._one(
            "INSERT INTO webhook_deliveries AS d (delivery_id, webhook_id, event, body,"
            " callback_token) VALUES (%s::uuid, %s, %s, %s, %s)"
            f" RETURNING {_DELIVERY_COLUMNS}",
            (delivery_id, webhook_id, event, body, callback_token),
        )
        self._notify()
        return _delivery(row)

    def _notify(self) -> None:
        self._one("SELECT pg_notify(%s, '')", (NOTIFY_CHANNEL,))

    def deliveries(
        self, webhook_id: int, *, after_id: int | None, limit: int
    ) -> list[WebhookDelivery]:
        rows = self._all(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.webhook_id = %s"
            " AND (%s::bigint IS NULL OR d.id < %s) ORDER BY d.id DESC LIMIT %s",
            (webhook_id, after_id, after_id, limit),
        )
        attempts = self._attempts([row[0] for row in rows])
        return [_delivery(row, attempts.get(row[0], ())) for row in rows]

    def _attempts(self, ids: list[int]) -> dict[int, tuple[WebhookAttempt, ...]]:
        if not ids:
            return {}
        found: dict[int, list[WebhookAttempt]] = {}
        for row in self._all(
            "SELECT delivery_id, attempt, at, status_code, duration_ms, error, response"
            " FROM webhook_attempts WHERE delivery_id = ANY (%s) ORDER BY attempt DESC",
            (ids,),
        ):
            found.setdefault(row[0], []).append(WebhookAttempt(*row[1:]))
        return {key: tuple(value) for key, value in found.items()}

    def find_delivery(self, webhook_id: int, delivery_id: str) -> WebhookDelivery | None:
        row = self._one(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries d"
            " WHERE d.webhook_id = %s AND d.delivery_id = %s::uuid",
            (webhook_id, delivery_id),
        )
        return _delivery(row, self._attempts([row[0]]).get(row[0], ())) if row else None

    def redeliver(self, webhook_id: int, delivery_id: str) -> bool:
        changed = self._exec(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(),"
            " finished_at = NULL WHERE webhook_id = %s AND delivery_id = %s::uuid"
            " AND status <> 'pending'",
            (webhook_id, delivery_id),
        )
        if changed:
            self._notify()
        return bool(changed)

    def record_callback(
        self, callback_token: str, state: str, description: str, context: str, target_url: str
    ) -> bool:
        return bool(
            self._exec(
                "UPDATE webhook_deliveries SET callback_state = %s, callback_description = %s,"
                " callback_context = %s, callback_target_url = %s, callback_at = now()"
                " WHERE callback_token = %s",
                (state, description, context, target_url, callback_token),
            )
        )

    def prune_deliveries(self, retention_seconds: int, limit: int) -> int:
        return self._exec(
            "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries"
            " WHERE status <> 'pending' AND finished_at < now() - make_interval(secs => %s)"
            " LIMIT %s)",
            (retention_seconds, limit),
        )

    def count_old_deliveries(self, retention_seconds: int) -> int:
        row = self._one(
            "SELECT count(*) FROM webhook_deliveries WHERE status <> 'pending'"
            " AND finished_at < now() - make_interval(secs => %s)",
            (retention_seconds,),
        )
        return int(row[0])

    _ORPHANS = (
        "FROM webhooks w WHERE w.repository_id IS NULL AND w.repository_name IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d"
        " WHERE d.webhook_id = w.id AND d.status = 'pending')"
    )

    def prune_orphans(self, limit: int) -> int:
        return self._exec(
            f"DELETE FROM webhooks WHERE id IN (SELECT w.id {self._ORPHANS} LIMIT %s)",
            (limit,),
        )

    def count_orphans(self) -> int:
        return int(self._one(f"SELECT count(*) {self._ORPHANS}")[0])
