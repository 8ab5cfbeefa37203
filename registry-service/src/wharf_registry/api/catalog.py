"""The catalog: ``GET /v2/_catalog[?n=&last=]`` (reserved by the spec; distribution's shape)."""

from __future__ import annotations

from flask import g, jsonify, request
from wharf_protocol.names import is_valid_repository_name

from ..content.errors import PaginationInvalid
from . import bp
from .access import require_access
from .helpers import content, next_link, page_size, services


@bp.route("/_catalog", methods=["GET"])
@require_access("catalog")
def list_repositories():
    """GET /v2/_catalog — repositories the caller may pull, one page, with ``Link``.

    The caller holds ``registry:catalog:*`` (else 401 ``insufficient_scope`` naming it, as
    the reference registry answers); the auth backend filters each batch of names
    (``Authenticator.pullable``: with the Index, the Index says what the caller may pull).
    """
    n = page_size(services().settings.catalog_max_entries)
    last = request.args.get("last") or None
    if last is not None and not is_valid_repository_name(last):
        raise PaginationInvalid(f"last is not a repository name: {last!r}")
    identity, auth = g.identity, services().auth

    def pullable(batch: list[str]) -> list[str]:
        return auth.pullable(identity, request, batch)

    names, more = content().catalog.page(n, last, pullable) if n else ([], False)
    response = jsonify({"repositories": names})
    if more:
        response.headers["Link"] = next_link("/v2/_catalog", n, names[-1])
    return response
