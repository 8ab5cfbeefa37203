"""Blueprint ``v2_base``: ``GET /v2/``, the registry API's base endpoint, so that
``docker login`` to the Index's own host works (distribution docs, "Token Authentication
Specification", "How to authenticate"; OCI distribution-spec, "Determining support").

Docker logs in to any host the same way: ``GET /v2/``; on a 401 Bearer challenge it asks the
realm for a token for the challenge's ``service`` with the user's credentials (and
``offline_token=true``), then sends ``GET /v2/`` again with that token: a 200 is a successful
login, and the refresh token it received is kept as the identity token. The Index names
itself as the service (``INDEX_TOKEN_ISSUER``); for it ``/v2/token`` issues login tokens
(no access, authenticated callers only: services/tokens.py).

- no credentials, wrong ones, or a token that is not a valid login token of the Index: 401
  ``UNAUTHORIZED`` (Index error shape) with ``WWW-Authenticate: Bearer
  realm="<INDEX_PUBLIC_URL>/v2/token",service="<INDEX_TOKEN_ISSUER>"`` (plus
  ``error="invalid_token"`` when credentials were sent);
- a valid login token (``Bearer``) or a user's Basic credentials: 200 ``{}``.

``GET /v2/_catalog[?n=&last=]``: the repositories the caller may pull, sorted, ``n`` per page
(default 100, at most 1000) with ``Link: <...?last=&n=>; rel="next"`` when the page is full,
as a registry's catalog. The caller is anonymous, or a user by Basic credentials or by a
Bearer token of the Index's service (a login token or the anonymous token the token endpoint
gives an anonymous caller). It exists for ``podman search INDEX-HOST/term``, which lists
the catalog when ``/v1/search`` does not answer it (api/v1.py says when).

Every answer carries ``Docker-Distribution-API-Version: registry/2.0``: Docker's search
client uses the Bearer scheme at a host only when it finds that header (it then sends
``/v1/search`` a login token, which that view accepts).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, jsonify, request

from ..context import uow
from ..services import catalog
from . import docker_auth

bp = Blueprint("v2_base", __name__)
docker_auth.bearer_challenge_on_401(bp)
API_VERSION = "registry/2.0"


@bp.after_request
def api_version(response):
    response.headers["Docker-Distribution-API-Version"] = API_VERSION
    return response


@bp.get("/v2/")
@docker_auth.token_path
def base():
    """200 for a logged-in caller (login token or Basic), else 401 with the challenge."""
    docker_auth.principal(required=True, bearer=True)
    response = jsonify({})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/v2/_catalog")
@docker_auth.token_path
def list_repositories():
    """One page of the repositories the caller may pull, with ``Link`` when more may follow."""
    principal = docker_auth.lister()
    args = request.args
    names, size, following = catalog.page(uow(), principal, args.get("n"), args.get("last"))
    response = jsonify({"repositories": names})
    if following is not None:
        query = urlencode({"last": following, "n": size})
        response.headers["Link"] = f'</v2/_catalog?{query}>; rel="next"'
    response.headers["Cache-Control"] = "no-store"
    return response
