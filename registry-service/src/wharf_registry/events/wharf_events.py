"""Wharf's extension events: what the registry does on its own that the Index audits.

Two entry points for the code that does those things (wharf_protocol.events describes the
wire format; docs/architecture.md, "Events"):

- :func:`record_gc_run` (``from wharf_registry.events.wharf_events import record_gc_run``):
  a garbage collection run finished. Callable from any process that has the registry's
  storage, with no Flask app (the ``gc`` command): it writes a ``wharf.gc`` event straight
  into the storage outbox, where the running registry's delivery thread finds it.
- :func:`record_quota_refusal` (same module): a push was refused for a quota. Called while
  handling the request (a Flask app context); the event carries the request record.

Both write only when the registry delivers events to an Index (``REGISTRY_INDEX_URL`` set,
``REGISTRY_NOTIFICATIONS_ENABLED`` not false): no other consumer takes these events, and
notification endpoints never receive them (events/endpoint.py).
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import current_app, g, has_app_context, has_request_context, request
from wharf_protocol.events import (
    GC,
    MAX_MESSAGE,
    QUOTA_REFUSED,
    Actor,
    Event,
    GcSummary,
    RequestRecord,
    Source,
    Target,
    new_event,
)

from ..settings import Settings
from ..storage import create_driver
from ..storage.base import StorageDriver
from .outbox import Outbox

logger = logging.getLogger(__name__)

GC_SUMMARY_KEYS = (
    "started_at",
    "finished_at",
    "dry_run",
    "blobs_deleted",
    "manifests_deleted",
    "bytes_freed",
    "uploads_purged",
    "blobs_marked",
)


def wharf_event(
    action: str,
    target: Target,
    *,
    actor: str = "",
    request: RequestRecord | None = None,
    source: Source | None = None,
) -> Event:
    """Return a new extension event (ValueError when ``target`` does not fit ``action``)."""
    return new_event(action, target, request, Actor(name=actor), source)


def gc_summary(summary: Mapping[str, Any]) -> GcSummary:
    """Return the GcSummary of a ``record_gc_run`` mapping; ValueError names a bad key.

    Times may be timezone-aware datetimes, RFC 3339 / ISO 8601 strings with an offset, or
    POSIX timestamps (seconds); ``dry_run`` a bool; counts non-negative ints.
    """
    missing = [key for key in GC_SUMMARY_KEYS if key not in summary]
    unknown = sorted(set(summary) - set(GC_SUMMARY_KEYS))
    if missing or unknown:
        raise ValueError(f"GC summary: missing keys {missing}, unknown keys {unknown}")
    values = dict(summary)
    for key in ("started_at", "finished_at"):
        values[key] = _time(key, values[key])
    return GcSummary(**values)


def _time(key: str, value: object) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"GC summary: {key} {value!r} is not an RFC 3339 time") from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"GC summary: {key} must be a timezone-aware time")
    return value


def record_gc_run(
    summary: Mapping[str, Any],
    *,
    driver: StorageDriver | None = None,
    settings: Settings | None = None,
) -> Event | None:
    """Record a finished garbage collection run for the Index's audit log (``registry.gc``).

    ``summary`` has exactly the keys ``started_at``, ``finished_at``, ``dry_run``,
    ``blobs_deleted``, ``manifests_deleted``, ``bytes_freed``, ``uploads_purged``,
    ``blobs_marked`` (see :func:`gc_summary`). ``settings`` (a
    :class:`~wharf_registry.settings.Settings`) defaults to ``Settings.from_env()`` and
    ``driver`` to the storage those settings name. Returns the event written to the outbox,
    or None when the registry sends no events to an Index (nothing is written).

    Raises ValueError for a bad summary, ConfigError for bad settings, StorageError when
    the outbox write fails (the caller decides: the run itself happened).
    """
    parsed = gc_summary(summary)
    settings = settings or Settings.from_env()
    if not settings.notifications_enabled:
        logger.info("GC run not recorded: this registry sends no events to an Index")
        return None
    driver = driver or create_driver(settings.storage_driver, settings.storage_params)
    source = Source(settings.http_host or socket.gethostname(), str(uuid.uuid4()))
    event = wharf_event(GC, Target("", "", None, "", summary=parsed), source=source)
    Outbox(driver).append([event])
    logger.info("GC run recorded as event %s", event.id)
    return event


def record_quota_refusal(repository: str, actor: str, message: str) -> Event | None:
    """Record, from a request, that a push to ``repository`` by ``actor`` was refused for a
    quota, with the ``message`` the client got (cut to 1024 characters), for the Index's
    audit log (``quota.refused``).

    Uses the registry app's context (the request's). Returns the event, or None when the
    registry sends no events to an Index, outside an app (nothing to write with), or when the
    outbox write failed: a failed record never turns the refusal into a server error (it is
    logged at WARNING).
    """
    if not has_app_context():
        return None
    services = current_app.extensions["registry"]
    record = RequestRecord()
    if has_request_context():
        record = RequestRecord(
            id=g.get("request_id", ""),
            addr=request.remote_addr or "",
            host=request.host,
            method=request.method,
            useragent=request.headers.get("User-Agent", ""),
        )
    target = Target("", "", None, repository, message=message[:MAX_MESSAGE] or "quota exceeded")
    try:
        return services.events.emit_wharf(QUOTA_REFUSED, target, actor=actor, request=record)
    except Exception as exc:  # noqa: BLE001 - the refusal stands; its record is best effort
        logger.warning("quota refusal for %s not recorded: %s", repository, exc)
        return None
