"""``GET /status``: what this registry tells anyone about its event outbox, for the Index's
administration page (the lag of each registry) and for people.

The body is always ``200`` with ``Cache-Control: no-store``::

    {"outbox": {"status": "ok", "pending": 3, "pending_capped": false,
                "oldest_at": "2026-12-06T18:00:00.123456Z", "oldest_age_seconds": 4.2}}
    {"outbox": {"status": "off"}}
    {"outbox": {"status": "down", "step": "list", "error": "EndpointConnectionError"}}

- ``ok``: ``pending`` counts the outbox objects not yet delivered to every consumer (the
  Index and the notification endpoints; an object holds the events of one group commit, so
  one event or more), up to :data:`~.metrics.OUTBOX_COUNT_LIMIT` (``pending_capped`` then
  true); ``oldest_at`` is the time of the oldest one's first event (null: none pending),
  ``oldest_age_seconds`` its age by this registry's clock when answered (0: none). The
  same numbers as the ``wharf_registry_outbox_*`` metrics (``Outbox.backlog``).
- ``off``: this registry keeps no outbox (no Index and no notification endpoint).
- ``down``: storage could not be listed; the step and the error's type, as ``/readyz``.

Unauthenticated, like ``/readyz``: counts and times only, never a repository, an event, a
path or an address. The listing is a readiness :class:`~.readiness.Check`: at most one at a
time per process, its result reused for :data:`~.metrics.SCRAPE_CACHE_SECONDS`, and an
answer within :data:`~.readiness.TIMEOUT` seconds whatever storage does (a hung S3 is
``down`` with ``"no answer within 1.5 s"``), so callers cannot make it list storage more
often than that.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .events.outbox import TIME_FORMAT, Outbox
from .metrics import OUTBOX_COUNT_LIMIT, SCRAPE_CACHE_SECONDS
from .readiness import TIMEOUT, Check, CheckFailed
from .storage.base import StorageDriver


class OutboxStatus:
    """The ``outbox`` part of ``GET /status`` (module doc); ``events`` False: ``off``."""

    def __init__(
        self,
        driver: StorageDriver,
        events: bool,
        *,
        ttl: float = SCRAPE_CACHE_SECONDS,
        timeout: float = TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox, self.events, self.clock = Outbox(driver), events, clock
        self.check = Check("outbox", self._count, ttl, timeout)

    def _count(self) -> dict[str, Any]:
        self.check.step("list")
        try:
            backlog = self.outbox.backlog(OUTBOX_COUNT_LIMIT)
        except Exception as exc:  # noqa: BLE001 - StorageError and whatever a backend raises
            cause = exc.__cause__ or exc
            raise CheckFailed("list", type(cause).__name__, f"{type(exc).__name__}: {exc}") from exc
        oldest = backlog.oldest.strftime(TIME_FORMAT) if backlog.oldest else None
        return {"pending": backlog.pending, "pending_capped": backlog.capped, "oldest_at": oldest}

    def report(self) -> dict[str, Any]:
        """The ``/status`` body."""
        if not self.events:
            return {"outbox": {"status": "off"}}
        body = dict(self.check.result().body)
        if body.get("status") == "ok":
            oldest = body.get("oldest_at")
            made = (
                datetime.strptime(oldest, TIME_FORMAT).replace(tzinfo=UTC).timestamp()
                if oldest
                else None
            )
            age = max(0.0, self.clock() - made) if made is not None else 0.0
            body["oldest_age_seconds"] = round(age, 3)
        return {"outbox": body}
