"""Blueprint ``metrics``: ``GET /metrics``, the Index's Prometheus metrics, merged over every
worker process (services/metrics.py lists them; wharf_protocol.metrics merges them).

Served when INDEX_METRICS is on (the default; otherwise 404 and nothing is recorded per
request). With INDEX_METRICS_TOKEN set a scrape must send ``Authorization: Bearer <token>``:
401 ``UNAUTHORIZED`` otherwise, with a Bearer challenge (RFC 6750 section 3). The Prometheus
text format, or OpenMetrics when the scraper asks for it.

:func:`init_app` installs the request hooks that count every response by route template,
method and status: the URL rule (``/api/v1/repositories/<namespace>/<name>``), never the
path, so no label names a repository or a user.
"""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, g, request
from werkzeug.exceptions import NotFound
from wharf_protocol import metrics as exposition
from wharf_protocol.errcode import ApiError

from ..context import IndexContext, current
from ..services import metrics

bp = Blueprint("metrics", __name__)


def init_app(app: Flask, context: IndexContext) -> None:
    """Count requests, unless INDEX_METRICS is off."""
    if context.metrics is None:
        return
    app.before_request(_start)
    app.after_request(_count)


def _start() -> None:
    g.metrics_started = time.perf_counter()


def _count(response: Response) -> Response:
    started = g.get("metrics_started")
    rule = request.url_rule
    metrics.request_served(
        rule.rule if rule is not None else "unmatched",
        request.method,
        response.status_code,
        time.perf_counter() - started if started is not None else 0.0,
    )
    return response


@bp.get("/metrics")
def scrape():
    """Every process's counted samples, then the gauges read from the database."""
    context = current()
    if context.metrics is None:
        raise NotFound()
    if not exposition.authorized(
        request.headers.get("Authorization"), context.settings.metrics_token
    ):
        raise ApiError("UNAUTHORIZED", "a metrics token is required", 401)
    body, content_type = exposition.exposition([context.metrics], request.headers.get("Accept"))
    return Response(body, 200, content_type=content_type)


@bp.after_request
def _challenge(response: Response) -> Response:
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response
