"""SQL for failed-login counting per (name, client address) (services/login_throttle.py)."""

from __future__ import annotations

from datetime import datetime

from .base import Store


class PgLoginFailureStore(Store):
    def state(self, name_hash: bytes, address: str) -> tuple[int, int]:
        """Return (failures recorded, seconds left in the lock-out) of a (name, address);
        (0, 0) when nothing is recorded. Forgotten rows count as nothing."""
        row = self._one(
            "SELECT failures, greatest(0, ceil(extract(epoch FROM locked_until - now())))"
            " FROM login_failures WHERE name_hash = %s AND address = %s AND forget_at > now()",
            (name_hash, address),
        )
        return (int(row[0]), int(row[1] or 0)) if row else (0, 0)

    def record(
        self, name_hash: bytes, address: str, *, threshold: int, delay: int, max_delay: int
    ) -> tuple[int, datetime | None]:
        """Count one failure atomically; return (failures, locked_until).

        Rows past their ``forget_at`` are deleted first (the table only holds recent
        failures). From the ``threshold``-th consecutive failure on, the pair is locked for
        ``delay * 2**(failures - threshold)`` seconds, capped at ``max_delay``. A row is
        forgotten ``max_delay`` seconds after its last failure or the end of its lock-out.
        """
        self._exec("DELETE FROM login_failures WHERE forget_at <= now()")
        row = self._one(
            """
            INSERT INTO login_failures AS f (name_hash, address, failures, forget_at)
            VALUES (%(name)s, %(address)s, 1, now() + make_interval(secs => %(keep)s))
            ON CONFLICT (name_hash, address) DO UPDATE
               SET failures = f.failures + 1, last_failure_at = now(),
                   forget_at = greatest(now(), f.locked_until) + make_interval(secs => %(keep)s)
            RETURNING failures
            """,
            {"name": name_hash, "address": address, "keep": max_delay},
        )
        failures = int(row[0])
        if failures < threshold:
            return failures, None
        seconds = min(max_delay, delay * 2 ** min(failures - threshold, 30))
        row = self._one(
            "UPDATE login_failures SET locked_until = now() + make_interval(secs => %(lock)s),"
            " forget_at = now() + make_interval(secs => %(lock)s + %(keep)s)"
            " WHERE name_hash = %(name)s AND address = %(address)s RETURNING locked_until",
            {"lock": seconds, "keep": max_delay, "name": name_hash, "address": address},
        )
        return failures, row[0]

    def reset(self, name_hash: bytes, address: str | None = None) -> None:
        """Forget the failures of a name from ``address`` (from every address: None)."""
        self._exec(
            "DELETE FROM login_failures WHERE name_hash = %s"
            " AND (%s::text IS NULL OR address = %s)",
            (name_hash, address, address),
        )

    def count(self) -> int:
        row = self._one("SELECT count(*) FROM login_failures")
        return int(row[0])
