"""Tags: end-8a (list) and end-8b (list with ``n``/``last`` pagination and ``Link``)."""

from __future__ import annotations

from flask import jsonify, request
from wharf_protocol.names import is_valid_tag

from ..content.errors import PaginationInvalid
from ..proxy.mirror import STALE_WARNING
from . import bp
from .access import require_access
from .helpers import content, next_link, page_size, services


@bp.route("/<repo:name>/tags/list", methods=["GET"])
@require_access("pull")
def list_tags(name: str):
    """end-8a/end-8b: GET /v2/<name>/tags/list[?n=&last=] — sorted tags, one page.

    A mirrored repository lists the upstream's tags; its cached ones, with a stale warning,
    when the upstream is unavailable (proxy/mirror.py)."""
    n = page_size(services().settings.tags_max_entries)
    last = request.args.get("last") or None
    if last is not None and not is_valid_tag(last):
        raise PaginationInvalid(f"last is not a tag: {last!r}")
    mirror = services().mirror
    upstream = mirror.upstream(name) if mirror is not None else None
    page = mirror.tags(name, upstream, n, last) if upstream is not None else None
    headers = {}
    if page is None:
        content().blobs.require_repository(name)
        page = content().tags.page(name, n, last)
        headers = {"Warning": STALE_WARNING} if upstream is not None else {}
    tags, more = page
    response = jsonify({"name": name, "tags": tags})
    response.headers.update(headers)
    if more:
        response.headers["Link"] = next_link(f"/v2/{name}/tags/list", n, tags[-1])
    return response
