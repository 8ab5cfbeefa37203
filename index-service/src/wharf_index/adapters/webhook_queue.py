"""SQL of the webhook delivery queue (tables of migration 0014) and its wake-up channel.

:class:`PgWebhookQueueStore` is ``uow.webhook_queue``; services/webhook_worker.py runs
each attempt in one transaction: :meth:`~PgWebhookQueueStore.take_due`, the HTTP request,
then the record (:meth:`~PgWebhookQueueStore.record_attempt` and one of ``delivered``,
``retry_later``, ``give_up``). The webhook's row stays locked (``FOR NO KEY UPDATE``) for
that whole transaction, which gives the guarantees of the migration's comments:

- one attempt at a time per webhook, whatever the number of worker threads and processes
  (the others skip a locked webhook: ``SKIP LOCKED``), and strictly in id order: only a
  webhook's *oldest* pending delivery is ever taken, so a later one waits behind an
  earlier one's retries;
- queueing is never held up by an attempt in flight: inserting a delivery checks its
  foreign key with ``FOR KEY SHARE`` on the webhook's row, which ``FOR NO KEY UPDATE``
  does not block (``FOR UPDATE`` would: the registry's event would wait for a slow
  receiver); changing or deleting the webhook waits for the attempt to be recorded;
- a worker killed mid-attempt commits nothing: the delivery stays pending, its lock is
  released with the connection, and the next worker sends it again (same delivery_id).

Finding work cheaply (:meth:`~PgWebhookQueueStore.take_due`): the candidates are the
*heads* of the queue, each webhook's lowest pending id. They are read from the partial
index ``webhook_deliveries_pending_idx (webhook_id, id) WHERE status = 'pending'`` with a
recursive skip scan (one index probe per webhook that has pending deliveries, whatever
the length of its backlog), so a poll costs O(webhooks with pending deliveries) index
probes, and nothing when the queue is empty; delivered and failed rows, however many, are
not in that index. The oldest due head of an active webhook not locked by another worker
is locked. Its head is then read again in a statement of its own: the first statement's
snapshot may predate the commit of the worker that just sent that head, and a row lock's
recheck does not refresh the joined delivery row.

:class:`PgWakeups` is the worker's one listening connection (``LISTEN wharf_webhooks``;
the enqueueing transaction's ``pg_notify`` arrives when it commits).
"""

from __future__ import annotations

import logging
import select

import psycopg2
import psycopg2.extensions

from ..domain.webhook_delivery import NOTIFY_CHANNEL, DueDelivery, SendOutcome
from . import db_bounds
from .base import Store

logger = logging.getLogger(__name__)

CANDIDATES = 5  # webhooks tried per take when heads turn out not due (a race)

_DUE_WEBHOOK = """
WITH RECURSIVE heads (webhook_id, id) AS (
    (SELECT webhook_id, id FROM webhook_deliveries WHERE status = 'pending'
     ORDER BY webhook_id, id LIMIT 1)
    UNION ALL
    SELECT following.webhook_id, following.id FROM heads, LATERAL (
        SELECT webhook_id, id FROM webhook_deliveries
        WHERE status = 'pending' AND webhook_id > heads.webhook_id
        ORDER BY webhook_id, id LIMIT 1) AS following
)
SELECT w.id FROM heads
JOIN webhook_deliveries d ON d.id = heads.id
JOIN webhooks w ON w.id = heads.webhook_id
WHERE w.active AND d.next_attempt_at <= now() AND w.id <> ALL(%(tried)s)
ORDER BY d.next_attempt_at, d.id
LIMIT 1
FOR NO KEY UPDATE OF w SKIP LOCKED
"""

_HEAD = """
SELECT d.id, d.delivery_id::text, d.webhook_id, w.url, w.format, w.secret_sealed, d.event,
       d.body, d.attempts + 1, extract(epoch FROM now() - d.created_at)::float8,
       d.next_attempt_at <= now()
FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
WHERE d.webhook_id = %s AND d.status = 'pending' AND w.active
ORDER BY d.id LIMIT 1
"""


def _text(value: str) -> str:
    """PostgreSQL text holds no NUL character; an answer may."""
    return value.replace("\x00", "\ufffd")


class PgWebhookQueueStore(Store):
    def take_due(self) -> DueDelivery | None:
        """Lock a webhook and return its due head (module docstring), or None."""
        tried: list[int] = []
        for _ in range(CANDIDATES):
            row = self._one(_DUE_WEBHOOK, {"tried": tried})
            if row is None:
                return None
            head = self._one(_HEAD, (row[0],))
            if head is not None and head[-1]:
                return DueDelivery(*head[:-1])
            tried.append(row[0])
        return None

    def record_attempt(self, delivery: DueDelivery, outcome: SendOutcome) -> None:
        self._exec(
            "INSERT INTO webhook_attempts"
            " (delivery_id, attempt, status_code, duration_ms, error, response)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (
                delivery.id,
                delivery.attempt,
                outcome.status_code,
                outcome.duration_ms,
                _text(outcome.error),
                _text(outcome.response),
            ),
        )

    def delivered(self, delivery: DueDelivery) -> None:
        self._exec(
            "UPDATE webhook_deliveries SET status = 'delivered', attempts = %s,"
            " finished_at = now() WHERE id = %s",
            (delivery.attempt, delivery.id),
        )
        self._exec(
            "UPDATE webhooks SET consecutive_failures = 0"
            " WHERE id = %s AND consecutive_failures <> 0",
            (delivery.webhook_id,),
        )

    def retry_later(self, delivery: DueDelivery, delay: float) -> None:
        self._exec(
            "UPDATE webhook_deliveries SET attempts = %s,"
            " next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s",
            (delivery.attempt, delay, delivery.id),
        )

    def give_up(self, delivery: DueDelivery, *, attempted: bool) -> None:
        self._exec(
            "UPDATE webhook_deliveries SET status = 'failed', attempts = %s,"
            " finished_at = now() WHERE id = %s",
            (delivery.attempt if attempted else delivery.attempt - 1, delivery.id),
        )

    def count_failure(self, webhook_id: int, max_failures: int, last: str) -> bool:
        row = self._one(
            "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1,"
            " active = consecutive_failures + 1 < %(max)s,"
            " disabled_reason = CASE WHEN consecutive_failures + 1 < %(max)s"
            "  THEN disabled_reason ELSE %(reason)s END,"
            " updated_at = CASE WHEN consecutive_failures + 1 < %(max)s"
            "  THEN updated_at ELSE now() END"
            " WHERE id = %(id)s RETURNING active",
            {
                "id": webhook_id,
                "max": max_failures,
                "reason": _text(
                    f"disabled after {max_failures} failed delivery attempts in a row; last: {last}"
                )[:1000],
            },
        )
        return row is not None and not row[0]


class PgWakeups:
    """``LISTEN wharf_webhooks`` on a connection of its own (autocommit), reconnecting
    after a failure; :meth:`wait` says whether a notification arrived."""

    def __init__(self, url: str, *, connect_timeout: float = 5, response_timeout: float = 5):
        self.url = url
        self._connection_class = type(
            "WakeupConnection",
            (db_bounds.BoundedConnection,),
            {"connect_timeout": connect_timeout, "response_timeout": response_timeout},
        )
        self._connect_timeout = connect_timeout
        self._conn = None
        self._failing = False

    def __repr__(self) -> str:
        return "<PgWakeups>"  # the URL may hold a password

    def _connection(self):
        if self._conn is None or self._conn.closed:
            db_bounds.install_wait_callback()
            conn = psycopg2.connect(
                self.url,
                connection_factory=self._connection_class,
                connect_timeout=max(int(self._connect_timeout), 1),
                keepalives=1,
                keepalives_idle=30,
                keepalives_interval=10,
                keepalives_count=3,
                application_name="wharf-index-webhooks",
            )
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self._conn = conn
        return self._conn

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a notification (drained: several count as
        one). A database failure is logged once per outage and waits out ``timeout``."""
        try:
            conn = self._connection()
            if self._failing:
                logger.info("webhook wake-ups: listening again")
                self._failing = False
            if not conn.notifies and select.select([conn], [], [], timeout) == ([], [], []):
                return False
            conn.poll()
            notified = bool(conn.notifies)
            conn.notifies.clear()
            return notified
        except (psycopg2.Error, OSError) as exc:
            if not self._failing:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                logger.warning("webhook wake-ups: database unavailable (%s); polling", first)
            self._failing = True
            self.close()
            select.select([], [], [], timeout)
            return False

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            try:
                conn.close()
            except psycopg2.Error:
                pass
