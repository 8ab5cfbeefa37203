"""The JSON API under ``/api/v1`` (blueprint ``api``), one module per resource.

Conventions (every endpoint; index-service/README.md, section "API", lists them):

- Authentication (auth.py): session cookie from ``POST /api/v1/session`` (unsafe methods
  then need the ``X-CSRF-Token`` header), HTTP Basic (password or access token), or
  ``Authorization: Bearer <access token>``. Access tokens act within their scopes and may
  not manage accounts, organisations, tokens or registries.
- Errors: ``{"error": {"code", "message"[, "detail"]}}`` (api/errors.py); invalid bodies and
  parameters are ``400 VALIDATION_FAILED`` with per-field messages in ``detail``; input the
  current state refuses (email in use, last owner) is ``409 CONFLICT``.
- Input is what the OpenAPI document says, exactly (openapi.py): JSON booleans and
  integers only in bodies, ``true``/``false`` only for query booleans, JSON nested at most
  64 levels deep, no NUL characters anywhere.
- Lists: ``?limit=`` (default 50, at most INDEX_MAX_PAGE_SIZE) and ``?cursor=``; the body is
  ``{"items": [...], "next": <cursor or null>}`` (pagination.py).
- Privacy: a private repository the caller may not see is answered exactly like one that
  does not exist (404 ``REPOSITORY_UNKNOWN``), on every path.
- Repository sub-resources follow ``/-/`` (``/repositories/alice/app/-/tags``): names may
  have several components and none starts with ``-``, so the split is unambiguous.
- Timestamps are RFC 3339 (``2024-05-01T12:00:00.123456+00:00``).
"""

from __future__ import annotations

from flask import Blueprint
from werkzeug.routing import BaseConverter

URL_PREFIX = "/api/v1"

bp = Blueprint("api", __name__)


class RepositoryNameConverter(BaseConverter):
    """A repository full name: two or more ``/``-separated components, none starting
    with ``-`` (the grammar is checked by the services; bad names are simply unknown)."""

    regex = r"[^/\-][^/]*(?:/[^/\-][^/]*)+"
    part_isolating = False


class IdConverter(BaseConverter):
    """A positive database id that fits PostgreSQL's bigint (at most 18 digits)."""

    max_digits = 18
    regex = f"[1-9][0-9]{{0,{max_digits - 1}}}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


def init_app(app, context) -> None:
    """Register the URL converters the routes use."""
    app.url_map.converters["api_repo"] = RepositoryNameConverter
    app.url_map.converters["api_id"] = IdConverter


# Route modules register their views on ``bp`` when imported.
from . import (  # noqa: E402, F401 - imported for their routes, after bp exists
    audit,
    auth,
    collaborators,
    comments,
    invitations,
    openapi,
    orgs,
    quotas,
    registries,
    repositories,
    routes,
    search,
    stars,
    tag_rules,
    tags,
    tokens,
    users,
    webhooks,
)
