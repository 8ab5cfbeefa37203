"""Blueprint ``v1``: the original Index handshake (Docker's v1 protocol) and ``docker
search`` (services/handshake.py).

- ``GET /v1/_ping`` -> 200 ``true`` with ``X-Docker-Registry-Version``.
- ``GET /v1/repositories/<name>/images`` (Basic optional) -> 200
  ``[{"id": <hex>, "checksum": "sha256:<hex>"}]``, the layers of the tagged manifests; with
  ``X-Docker-Token: true`` also ``X-Docker-Token`` (a pull token for the caller) and
  ``X-Docker-Endpoints`` (hosts of the registries holding it). Unknown and invisible
  repositories: the same 404.
- ``PUT /v1/repositories/<name>/`` (Basic required) -> 200 ``""`` with a pull+push token and
  the endpoints; allocates the repository (scenario B); 403 without push.
- ``DELETE /v1/repositories/<name>/`` (Basic required; admin of the repository, and for an
  access token a scope naming ``admin``: deleting a repository is administration) -> 202
  with a delete token and the endpoints; the repository is marked ``deleting`` until the registry
  reports the deletion (scenario C).
- ``GET /v1/search?q=&n=&page=`` (Basic, or a Bearer token: a login token of the Index, or
  a registry token granting ``registry:catalog``, which is what docker sends a registry's
  host and that registry passes on; optional) -> ``{"query", "num_results", "num_pages",
  "page", "page_size", "results": [{"name", "description", "star_count", "is_official",
  "is_automated"}]}``; private repositories only for those who may see them. A request
  without credentials carrying ``Docker-Distribution-API-Version`` is containers/image
  (podman): it never sends credentials here and lists ``/v2/_catalog`` with them on any
  answer but 200 (``docker/docker_client.go``, ``SearchRegistry``), so it gets 401 and a
  signed-in podman user sees private repositories too (api/v2_base.py serves the catalog).

Errors use the Index error shape; 401s carry a Basic challenge.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..context import uow
from ..domain import errors
from ..services import handshake
from . import docker_auth

bp = Blueprint("v1", __name__)
docker_auth.basic_challenge_on_401(bp)
REGISTRY_VERSION = "0.9.1"


def _respond(body, status: int, result: handshake.Handshake):
    response = jsonify(body)
    response.status_code = status
    if result.token:
        response.headers["X-Docker-Token"] = result.token
    if result.endpoints:
        response.headers["X-Docker-Endpoints"] = ",".join(result.endpoints)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/v1/_ping")
def ping():
    """Answer the old clients' ping: ``true``."""
    response = jsonify(True)
    response.headers["X-Docker-Registry-Version"] = REGISTRY_VERSION
    return response


@bp.get("/v1/repositories/<path:name>/images")
def get_images(name: str):
    """Scenario A step 2: the layer checksums, and a token when asked for one."""
    want = request.headers.get("X-Docker-Token", "").lower() == "true"
    result = handshake.images(
        uow(), docker_auth.authority(), docker_auth.principal(), name, want_token=want
    )
    body = [{"id": c.partition(":")[2], "checksum": c} for c in result.checksums]
    return _respond(body, 200, result)


@bp.put("/v1/repositories/<path:name>/")
def put_repository(name: str):
    """Scenario B: allocate the repository and hand out a push token."""
    principal = docker_auth.principal(required=True)
    result = handshake.allocate(uow(), docker_auth.authority(), principal, name)
    return _respond("", 200, result)


@bp.delete("/v1/repositories/<path:name>/")
def delete_repository(name: str):
    """Scenario C: mark the repository deleting and hand out a delete token."""
    principal = docker_auth.principal(required=True)
    result = handshake.delete(uow(), docker_auth.authority(), principal, name)
    return _respond("", 202, result)


@bp.get("/v1/search")
def search():
    """``docker search``: visible repositories matching ``q``, page ``page`` of ``n``."""
    if "Authorization" not in request.headers and request.headers.get(
        "Docker-Distribution-API-Version"
    ):
        raise errors.AuthenticationFailed(
            "authentication required: search with credentials, or list /v2/_catalog"
        )
    args = request.args
    principal = docker_auth.lister()
    return handshake.search(uow(), principal, args.get("q"), args.get("n"), args.get("page"))
