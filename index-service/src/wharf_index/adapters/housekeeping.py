"""SQL for the housekeeping schedule (table of migration 0012): one lease row per task.

:meth:`PgHousekeepingStore.claim` is the only way a task starts: it moves ``next_run_at`` one
interval ahead, and succeeds for one caller only while the task is due, whichever worker or
host asks (services/housekeeping.py).
"""

from __future__ import annotations

from .base import Store


class PgHousekeepingStore(Store):
    def claim(self, task: str, interval: int) -> bool:
        """Take ``task`` for this run when it is due (or new); False when another caller
        ran it less than its interval ago."""
        row = self._one(
            "INSERT INTO housekeeping_schedule AS s (task, next_run_at, last_started_at)"
            " VALUES (%(task)s, now() + make_interval(secs => %(interval)s), now())"
            " ON CONFLICT (task) DO UPDATE SET next_run_at = EXCLUDED.next_run_at,"
            " last_started_at = EXCLUDED.last_started_at WHERE s.next_run_at <= now()"
            " RETURNING 1",
            {"task": task, "interval": interval},
        )
        return row is not None

    def finished(self, task: str, error: str | None) -> None:
        """Record the end of a run of ``task`` (``error``: why it failed, else None)."""
        self._exec(
            "UPDATE housekeeping_schedule SET last_finished_at = now(), last_error = %s"
            " WHERE task = %s",
            (error, task),
        )
