"""Health: ``GET /healthz`` (liveness), ``GET /readyz`` (readiness, readiness.py) and
``GET /status`` (the event outbox's backlog, status.py).

``/healthz`` answers 200 as long as the process serves requests, without I/O: a failing
storage or Index must not make an orchestrator restart a process that would fail the same
way. ``/readyz`` answers 200 when storage works (``"status": "ok"``, or ``"degraded"`` when
the Index cannot be reached: cached tokens still work) and 503 with the failed check named
when it does not, within about two seconds whatever the backends do.
"""

from flask import Blueprint, current_app

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answer 200 with a tiny JSON body; used by the harness and load balancers."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Answer 200 (ready, maybe degraded) or 503 (storage broken); see readiness.py."""
    status, body = current_app.extensions["registry"].readiness.report()
    return body, status, {"Cache-Control": "no-store"}


@bp.get("/status")
def status():
    """Answer 200 with the outbox's backlog (pending objects, the oldest's age); status.py."""
    return (
        current_app.extensions["registry"].outbox_status.report(),
        200,
        {"Cache-Control": "no-store"},
    )
