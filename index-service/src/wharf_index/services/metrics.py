"""The Index's Prometheus metrics: the objects, what records them, what a scrape reads.

Counted as things happen, in every worker process (merged at scrape, see
:mod:`wharf_protocol.metrics`): requests, tokens issued, token verifications for
registries, credential cache lookups, registry events. Read from the database when scraped,
at most once per :data:`SCRAPE_CACHE_SECONDS` per process (:class:`DatabaseCollector`,
adapters/metrics.py): the webhook queue that ``wharf-index worker`` drains (a separate
process, which therefore records nothing here: its work is visible in the table), and
repository deletions in progress. No request path runs a statement for a metric.

Labels never carry a repository, namespace or user: requests are labelled by route
template (``/api/v1/repositories/<namespace>/<name>``), method and status code.

prometheus_client is imported on first use, never at import (its mode is chosen then; see
:mod:`wharf_protocol.metrics`), and the objects are created once per process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from wharf_protocol.metrics import METHODS

from ..domain.records import MetricsSnapshot
from .unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

PREFIX = "wharf_index"
#: Request latency buckets (seconds): token requests take milliseconds, searches more.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
SCRAPE_CACHE_SECONDS = 5.0
TOKEN_KINDS = ("registry", "login", "refresh")
VERIFY_OUTCOMES = ("valid", "invalid", "unauthorized")
EVENT_ACTIONS = ("push", "pull", "delete", "mount")
LAG_QUANTILES = ("0.5", "0.95", "1")


class _Metrics:
    """The metric objects of this process."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        p = PREFIX
        # (route, method, code) -> the counter's and the histogram's children: labels() takes
        # a lock and checks its values, a dict lookup does neither (a few microseconds less
        # per request).
        self.children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.requests = Counter(
            f"{p}_http_requests", "HTTP requests served", ["route", "method", "code"]
        )
        self.latency = Histogram(
            f"{p}_http_request_duration_seconds",
            "Time to the response head",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
        )
        issued = Counter(f"{p}_tokens_issued", "Tokens issued", ["kind"])
        self.issued = {kind: issued.labels(kind) for kind in TOKEN_KINDS}
        verified = Counter(
            f"{p}_token_verifications", "Token verifications asked by registries", ["outcome"]
        )
        self.verified = {outcome: verified.labels(outcome) for outcome in VERIFY_OUTCOMES}
        cache = Counter(f"{p}_credential_cache_lookups", "Credential cache lookups", ["result"])
        self.cache_hit, self.cache_miss = cache.labels("hit"), cache.labels("miss")
        applied = Counter(f"{p}_events_applied", "Registry events applied", ["action"])
        self.applied = {action: applied.labels(action) for action in (*EVENT_ACTIONS, "other")}
        self.refused = Counter(
            f"{p}_events_refused", "Registry events acknowledged but not applied"
        )
        self.duplicates = Counter(f"{p}_events_duplicate", "Registry events already applied")


_metrics: _Metrics | None = None
_lock = threading.Lock()


def get() -> _Metrics:
    """Return this process's metric objects, created on first use."""
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = _Metrics()
    return _metrics


def request_served(route: str, method: str, code: int, seconds: float) -> None:
    """Count one response: ``route`` is the URL rule's template, never the path."""
    m = _metrics or get()
    method = method if method in METHODS else "other"
    key = (route, method, code)
    children = m.children.get(key)
    if children is None:  # first time for these labels in this process (bounded: routes)
        children = m.children[key] = (
            m.requests.labels(route, method, str(code)),
            m.latency.labels(route, method),
        )
    children[0].inc()
    children[1].observe(seconds)


def token_issued(kind: str) -> None:
    """Count one token: ``registry`` (for a registry), ``login`` (for the Index itself) or
    ``refresh``."""
    (_metrics or get()).issued[kind].inc()


def token_verification(outcome: str) -> None:
    """Count one verification a registry asked for: ``valid``, ``invalid`` (refused with
    a reason) or ``unauthorized`` (the registry's own credential failed)."""
    (_metrics or get()).verified[outcome].inc()


def credential_cache(hit: bool) -> None:
    m = _metrics or get()
    (m.cache_hit if hit else m.cache_miss).inc()


def events_ingested(applied: dict[str, int], refused: int, duplicates: int) -> None:
    """Count one committed envelope: events applied by action, refused, duplicates."""
    m = _metrics or get()
    for action, count in applied.items():
        m.applied[action if action in m.applied else "other"].inc(count)
    if refused:
        m.refused.inc(refused)
    if duplicates:
        m.duplicates.inc(duplicates)


class DatabaseCollector:
    """Gauges read from the database when scraped (cached :data:`SCRAPE_CACHE_SECONDS`).

    The database not answering leaves them out of the scrape (logged), never fails it.
    """

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Callable[[], float] = time.monotonic,
        ttl: float = SCRAPE_CACHE_SECONDS,
    ) -> None:
        self.uow, self.clock, self.ttl = uow, clock, ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Any]] | None = None

    def collect(self) -> Iterator[Any]:
        now = self.clock()
        with self._lock:
            if self._cached is None or now - self._cached[0] >= self.ttl:
                self._cached = (now, self._families())
            return iter(self._cached[1])

    def _families(self) -> list[Any]:
        try:
            uow = self.uow()
            with uow.reading():
                snapshot = uow.metrics.snapshot()
        except Exception as exc:  # noqa: BLE001 - a scrape must answer; the gap shows it
            logger.warning("metrics: the database could not be read: %s", type(exc).__name__)
            return []
        return families(snapshot)


def families(s: MetricsSnapshot) -> list[Any]:
    """The gauge families of a snapshot."""
    from prometheus_client.core import GaugeMetricFamily

    p = PREFIX
    recent = GaugeMetricFamily(
        f"{p}_webhook_deliveries_recent",
        "Webhook deliveries finished in the last 5 minutes",
        labels=["outcome"],
    )
    recent.add_metric(["delivered"], s.webhook_delivered_recently)
    recent.add_metric(["failed"], s.webhook_failed_recently)
    lag = GaugeMetricFamily(
        f"{p}_webhook_delivery_lag_seconds",
        "Queueing to delivery of the webhook deliveries of the last 5 minutes, by quantile",
        labels=["quantile"],
    )
    for quantile, value in zip(LAG_QUANTILES, s.webhook_lag_quantiles, strict=False):
        lag.add_metric([quantile], value)
    return [
        GaugeMetricFamily(
            f"{p}_webhook_deliveries_pending",
            "Webhook deliveries queued, not yet delivered or given up",
            value=s.webhook_pending,
        ),
        GaugeMetricFamily(
            f"{p}_webhook_oldest_pending_age_seconds",
            "Age of the oldest pending webhook delivery (0: none)",
            value=s.webhook_oldest_pending_seconds,
        ),
        recent,
        lag,
        GaugeMetricFamily(
            f"{p}_deletions_pending",
            "Repository deletions not yet confirmed by every registry",
            value=s.deletions_pending,
        ),
        GaugeMetricFamily(
            f"{p}_deletion_oldest_age_seconds",
            "Age of the oldest repository deletion in progress (0: none)",
            value=s.deletion_oldest_seconds,
        ),
    ]
