"""The Registry's Prometheus metrics: the objects, what records them, what a scrape computes.

Counted as things happen, in every worker process (merged at scrape, see
:mod:`wharf_protocol.metrics`): requests, bytes, uploads in flight, token verifications,
event deliveries, pull flushes, quota refusals. Computed when scraped, from storage, at most
once per :data:`SCRAPE_CACHE_SECONDS` per process (:class:`StorageCollector`): the outbox
depth and oldest pending event, and the last garbage collection (``/wharf/gc/last-run.json``).
No request path reads storage for a metric.

Labels never carry a repository name, a user or a digest: requests are labelled by route
template (``/v2/<repo:name>/blobs/<digest>``), method and status code. The README's
"Metrics" section lists every metric.

prometheus_client is imported on first use, never at import (its mode is chosen then; see
:mod:`wharf_protocol.metrics`), and the objects are created once per process.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from wharf_protocol.metrics import METHODS

from .storage.base import StorageDriver, StorageError

logger = logging.getLogger(__name__)

PREFIX = "wharf_registry"
#: Request latency buckets (seconds): token-cached pulls take milliseconds, uploads minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
#: Event delivery lag buckets (seconds): from the event's time to the Index's acknowledgement.
LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600)
SCRAPE_CACHE_SECONDS = 5.0
#: Outbox objects counted per scrape (one listing page); more shows as this many.
OUTBOX_COUNT_LIMIT = 1000
GC_LAST_RUN = "/wharf/gc/last-run.json"
TOKEN_OUTCOMES = ("valid", "invalid", "unavailable")


class _Metrics:
    """The metric objects of this process."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

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
            "Time to the response head (a streamed body is not included)",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
        )
        self.received = Counter(f"{p}_received_bytes", "Upload body bytes received")
        self.sent = Counter(
            f"{p}_sent_bytes", "Blob and manifest body bytes sent (their length)", ["kind"]
        )
        self.uploads = Gauge(
            f"{p}_uploads_in_flight",
            "Upload requests whose body is being received",
            multiprocess_mode="livesum",
        )
        self.tokens = Counter(f"{p}_tokens_verified", "Bearer tokens checked", ["outcome"])
        self.token_cache = Counter(
            f"{p}_token_cache_lookups", "Token verification cache lookups", ["result"]
        )
        self.events = Counter(f"{p}_events_delivered", "Events the Index acknowledged")
        self.lag = Histogram(
            f"{p}_event_delivery_lag_seconds",
            "Time from an event to the Index's acknowledgement of it",
            buckets=LAG_BUCKETS,
        )
        self.flushes = Counter(f"{p}_pull_flushes", "Pull count flushes written to the outbox")
        self.flushed = Counter(f"{p}_pulls_flushed", "Pulls carried by those flushes")
        self.quota = Counter(f"{p}_quota_refusals", "Pushes refused by a namespace quota")
        self.upstream_down = Gauge(
            f"{p}_proxy_upstream_down",
            "1 while a worker takes the mirrored upstream as down (proxy/health.py)",
            ["upstream"],
            multiprocess_mode="livemax",
        )
        # Resolve the label sets known in advance once, off the request path.
        self.token_outcomes = {o: self.tokens.labels(o) for o in TOKEN_OUTCOMES}
        self.cache_hit, self.cache_miss = (
            self.token_cache.labels("hit"),
            self.token_cache.labels("miss"),
        )
        self.sent_kinds = {k: self.sent.labels(k) for k in ("blob", "manifest")}


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


def bytes_received(count: int) -> None:
    """Count upload body bytes read."""
    (_metrics or get()).received.inc(count)


def bytes_sent(kind: str, count: int) -> None:
    """Count a blob's or manifest's body length (``kind``: ``blob`` or ``manifest``)."""
    (_metrics or get()).sent_kinds[kind].inc(count)


def upload_started() -> None:
    (_metrics or get()).uploads.inc()


def upload_ended() -> None:
    (_metrics or get()).uploads.dec()


def token_verified(outcome: str) -> None:
    """Count one bearer token check: ``valid``, ``invalid`` or ``unavailable`` (503)."""
    (_metrics or get()).token_outcomes[outcome].inc()


def token_cache(hit: bool) -> None:
    """Count one lookup of the token verification cache that decided (hit) or did not."""
    m = _metrics or get()
    (m.cache_hit if hit else m.cache_miss).inc()


def events_acknowledged(timestamps: Iterable[datetime], now: float | None = None) -> None:
    """Record the Index's acknowledgement of events made at ``timestamps``."""
    m = _metrics or get()
    now = time.time() if now is None else now
    count = 0
    for stamp in timestamps:
        m.lag.observe(max(0.0, now - stamp.timestamp()))
        count += 1
    m.events.inc(count)


def pulls_flushed(pulls: int) -> None:
    """Count one pull counter flush carrying ``pulls`` pulls."""
    m = _metrics or get()
    m.flushes.inc()
    m.flushed.inc(pulls)


def quota_refused(namespace: str | None = None) -> None:
    """Count one push refused by a namespace quota. ``namespace`` is accepted for the
    caller's convenience and never recorded: a label would name private namespaces."""
    del namespace
    (_metrics or get()).quota.inc()


def upstream_health(upstream: str, down: bool) -> None:
    """Record a mirrored upstream (its URL without credentials) going down or up."""
    (_metrics or get()).upstream_down.labels(upstream).set(1 if down else 0)


class StorageCollector:
    """Gauges read from storage when scraped (cached :data:`SCRAPE_CACHE_SECONDS`): the
    outbox (one listing of at most :data:`OUTBOX_COUNT_LIMIT` names, whose first is the
    oldest: names start with the event time, see ``events/outbox.py``) and the last GC."""

    def __init__(
        self,
        driver: StorageDriver,
        events: bool,
        clock=time.time,
        ttl: float = SCRAPE_CACHE_SECONDS,
    ) -> None:
        self.driver, self.events, self.clock, self.ttl = driver, events, clock, ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Any]] | None = None

    def collect(self) -> Iterator[Any]:
        now = self.clock()
        with self._lock:
            if self._cached is None or now - self._cached[0] >= self.ttl:
                self._cached = (now, self._families(now))
            return iter(self._cached[1])

    def _families(self, now: float) -> list[Any]:
        try:
            families = self._outbox(now) if self.events else []
            return families + self._gc()
        except Exception as exc:  # noqa: BLE001 - a scrape must answer; the gap shows it
            logger.warning("metrics: storage could not be read: %s", type(exc).__name__)
            return []

    def _outbox(self, now: float) -> list[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from .events.outbox import Outbox

        try:
            backlog = Outbox(self.driver).backlog(OUTBOX_COUNT_LIMIT)
        except StorageError:
            return []  # storage down: no outbox gauges rather than wrong ones
        depth = GaugeMetricFamily(
            f"{PREFIX}_outbox_objects",
            f"Outbox objects not yet delivered to every consumer (counted up to "
            f"{OUTBOX_COUNT_LIMIT})",
            value=backlog.pending,
        )
        oldest = GaugeMetricFamily(
            f"{PREFIX}_outbox_oldest_age_seconds",
            "Age of the oldest undelivered outbox object (0: none)",
            value=backlog.oldest_age(now),
        )
        return [depth, oldest]

    def _gc(self) -> list[Any]:
        from prometheus_client.core import GaugeMetricFamily

        try:
            run = json.loads(self.driver.get_content(GC_LAST_RUN))
        except (StorageError, ValueError):  # no GC yet (PathNotFound), storage down, bad file
            return []
        if not isinstance(run, dict):
            return []
        found = []
        for key, name, text in _GC_GAUGES:
            value = run.get(key)
            if key.endswith("_at"):
                value = _epoch(value)
            elif key == "dry_run" and isinstance(value, bool):
                value = float(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found.append(GaugeMetricFamily(f"{PREFIX}_gc_{name}", text, value=value))
        return found


# (key in last-run.json, metric name after wharf_registry_gc_, help)
_GC_GAUGES = (
    ("started_at", "last_run_start_timestamp_seconds", "When the last GC run started"),
    ("finished_at", "last_run_timestamp_seconds", "When the last GC run finished"),
    ("dry_run", "last_run_dry_run", "1 if the last GC run was a dry run"),
    ("blobs_marked", "last_blobs_marked", "Blobs the last GC run found referenced"),
    ("blobs_deleted", "last_blobs_deleted", "Blobs the last GC run deleted"),
    ("manifests_deleted", "last_manifests_deleted", "Manifests the last GC run deleted"),
    ("bytes_freed", "last_bytes_freed", "Bytes the last GC run freed"),
    ("uploads_purged", "last_uploads_purged", "Stale uploads the last GC run purged"),
)


def _epoch(value: object) -> float | None:
    """RFC 3339 text (or epoch seconds) as epoch seconds; None if neither."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
