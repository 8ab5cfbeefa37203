"""end-1: the API version check."""

from __future__ import annotations

from . import bp
from .access import require_access


@bp.route("/", methods=["GET", "HEAD"])
@require_access(None)
def get_base():
    """end-1: GET /v2/ — 200 when the API is served and the caller is authenticated."""
    return {}
