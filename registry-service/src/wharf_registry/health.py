"""Liveness: ``GET /healthz`` answers 200 as long as the process serves requests."""

from flask import Blueprint

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answer 200 with a tiny JSON body; used by the harness and load balancers."""
    return {"status": "ok"}
