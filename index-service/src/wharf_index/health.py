"""Health: ``GET /healthz`` (liveness) and ``GET /readyz`` (the database answers)."""

from __future__ import annotations

from flask import Blueprint

from .adapters.db import DatabaseUnavailable
from .context import current

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answer 200 with a tiny JSON body while the process serves requests (no I/O)."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Answer 200 when PostgreSQL answers ``SELECT 1``, else 503 (load balancers)."""
    try:
        current().db.ping()
    except DatabaseUnavailable:
        return {"status": "unavailable", "database": "down"}, 503
    return {"status": "ok", "database": "ok"}
