"""``GET /metrics``: the Registry's Prometheus metrics, merged over every worker process.

Served when REGISTRY_METRICS is on (the default). With REGISTRY_METRICS_TOKEN set a scrape
must send ``Authorization: Bearer <token>`` (401 otherwise, with a Bearer challenge, RFC 6750
section 3). The Prometheus text format, or OpenMetrics when the scraper asks for it.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from wharf_protocol import errcode
from wharf_protocol import metrics as exposition
from wharf_protocol.errcode import ProtocolError

from .api.errors import error_response
from .metrics import StorageCollector

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape():
    """Answer the scrape: counted samples of all processes, then the storage gauges."""
    services = current_app.extensions["registry"]
    if not exposition.authorized(
        request.headers.get("Authorization"), services.settings.metrics_token
    ):
        error = ProtocolError(errcode.UNAUTHORIZED, "a metrics token is required", status=401)
        return error_response([error], {"WWW-Authenticate": 'Bearer realm="metrics"'})
    collector: StorageCollector = current_app.extensions["registry.metrics"]
    body, content_type = exposition.exposition([collector], request.headers.get("Accept"))
    return Response(body, 200, content_type=content_type)
