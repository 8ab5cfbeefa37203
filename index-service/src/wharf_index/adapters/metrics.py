"""SQL the Index's ``GET /metrics`` runs at scrape time: the webhook queue and deletions.

Each is one statement on an index: pending deliveries through the partial index
``webhook_deliveries_pending_idx`` (pending rows only), recently finished ones through
``webhook_deliveries_finished_idx (finished_at) WHERE status <> 'pending'`` (migration 0014),
deletions in progress from ``repository_deletions`` (one row per deletion, migration 0008).
Ages and lags are computed by PostgreSQL (``now()``), so the Index's clock does not enter.
"""

from __future__ import annotations

from ..domain.records import MetricsSnapshot
from .base import Store

#: Finished webhook deliveries are counted over this window (seconds).
RECENT_SECONDS = 300


class PgMetricsStore(Store):
    def snapshot(self) -> MetricsSnapshot:
        """Read the queue, recent outcomes and deletions in one round trip."""
        row = self._one(
            "SELECT"
            " (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'),"
            " (SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)"
            "    FROM webhook_deliveries WHERE status = 'pending'),"
            " (SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'"
            "    AND finished_at > now() - make_interval(secs => %(recent)s)),"
            " (SELECT count(*) FROM webhook_deliveries WHERE status = 'failed'"
            "    AND finished_at > now() - make_interval(secs => %(recent)s)),"
            " (SELECT percentile_cont(ARRAY[0.5, 0.95, 1.0]) WITHIN GROUP"
            "    (ORDER BY EXTRACT(EPOCH FROM finished_at - created_at))"
            "    FROM webhook_deliveries WHERE status = 'delivered'"
            "    AND finished_at > now() - make_interval(secs => %(recent)s)),"
            " (SELECT count(*) FROM repository_deletions),"
            " (SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(requested_at)), 0)"
            "    FROM repository_deletions)",
            {"recent": RECENT_SECONDS},
        )
        pending, oldest, delivered, failed, lag, deletions, deletion_age = row
        return MetricsSnapshot(
            webhook_pending=int(pending),
            webhook_oldest_pending_seconds=float(oldest),
            webhook_delivered_recently=int(delivered),
            webhook_failed_recently=int(failed),
            webhook_lag_quantiles=tuple(float(v) for v in lag) if lag else (),
            deletions_pending=int(deletions),
            deletion_oldest_seconds=float(deletion_age),
        )
