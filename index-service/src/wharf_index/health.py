"""Health: ``GET /healthz`` (liveness) and ``GET /readyz`` (the database answers).

``/readyz`` answers within about :data:`READY_TIMEOUT` seconds whatever the database does
(a stopped server, an exhausted pool): the wait for a pooled connection and for the answer
to ``SELECT 1`` share that bound (adapters/db.py ``Database.ping``).
"""

from __future__ import annotations

from flask import Blueprint

from .context import current
from .domain.errors import DatabaseUnavailable

bp = Blueprint("health", __name__)
READY_TIMEOUT = 1.0


@bp.get("/healthz")
def healthz():
    """Answer 200 with a tiny JSON body while the process serves requests (no I/O)."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Answer 200 when PostgreSQL answers ``SELECT 1`` within READY_TIMEOUT, else 503."""
    try:
        current().db.ping(timeout=READY_TIMEOUT)
    except DatabaseUnavailable:
        return {"status": "unavailable", "database": "down"}, 503
    return {"status": "ok", "database": "ok"}
