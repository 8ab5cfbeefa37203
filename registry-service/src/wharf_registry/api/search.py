"""Blueprint ``v1_search`` (mounted at the root): ``GET /v1/search?q=&n=&page=``, what
``docker search HOST/term`` and ``podman search HOST/term`` ask a registry host.

- With an Index (``REGISTRY_INDEX_URL``): the Index's ``GET /v1/search`` answers, asked
  with the caller's ``Authorization`` header passed through unchanged (Basic credentials,
  or the Bearer token docker fetched from this registry's challenge: the Index takes a
  token of its own granting ``registry:catalog``) and ``X-Forwarded-For``; its status and
  body (docker's search format) are returned as they are, its errors in the OCI envelope.
  The header is never logged. The Index counts failed Basic logins per client address: it
  reads the forwarded one only when this registry is among its ``INDEX_TRUSTED_PROXIES``.
- Without one (scenario D): the registry's own catalog, names containing ``q`` (any case),
  that the caller may pull, ``n`` per page (1..100, default 25), ``page`` from 1; the
  caller authenticates as for ``/v2/`` (401 with the challenge otherwise).
- Either way, a request without credentials that carries ``Docker-Distribution-API-Version``
  is containers/image (podman, skopeo, buildah): it never sends credentials to
  ``/v1/search`` and, on any answer but 200, lists ``/v2/_catalog`` with them instead
  (containers/image ``docker/docker_client.go``, ``SearchRegistry``). It gets 401, so a
  signed-in podman user finds private repositories too; anonymous podman gets the same
  public names from the catalog.
"""

from __future__ import annotations

import logging
import math

import requests
from flask import Blueprint, g, jsonify, request
from wharf_protocol import errcode
from wharf_protocol.errcode import ProtocolError

from ..auth import AuthenticationRequired
from ..settings import index_tls
from .helpers import content, services

bp = Blueprint("v1_search", __name__)
logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_PAGE = 10_000
MAX_QUERY = 200
TIMEOUT = (3.05, 10.0)
_session = requests.Session()


def is_containers_image_search() -> bool:
    """Tell whether this is containers/image's credential-less ``/v1/search`` (see above)."""
    return "Authorization" not in request.headers and bool(
        request.headers.get("Docker-Distribution-API-Version")
    )


@bp.get("/v1/search")
def search():
    """``docker search`` at this host: the Index's answer, or the registry's own catalog."""
    if is_containers_image_search():
        exc = AuthenticationRequired(
            "authentication required: search with credentials, or list /v2/_catalog"
        )
        exc.challenge = services().auth.challenge([])
        raise exc
    settings = services().settings
    if settings.index_url:
        return _ask_index(settings)
    return _own_catalog()


def _ask_index(settings):
    url = settings.index_url.rstrip("/") + "/v1/search"
    headers = {"Accept": "application/json"}
    if "Authorization" in request.headers:
        headers["Authorization"] = request.headers["Authorization"]
    forwarded = request.headers.get("X-Forwarded-For")
    client = request.remote_addr or ""
    headers["X-Forwarded-For"] = f"{forwarded}, {client}" if forwarded else client
    params = {k: request.args[k] for k in ("q", "n", "page") if k in request.args}
    try:
        answer = _session.get(
            url, params=params, headers=headers, timeout=TIMEOUT, **index_tls(settings)
        )
    except requests.RequestException as exc:
        logger.error("search: the Index did not answer: %s", type(exc).__name__)
        raise ProtocolError(
            errcode.UNKNOWN, "the Index cannot search now; try again later", status=503
        ) from None
    if answer.status_code == 200:
        try:
            return jsonify(answer.json())
        except ValueError:
            logger.error("search: the Index answered a body that is not JSON")
            raise ProtocolError(errcode.UNKNOWN, "the Index answered badly", status=502) from None
    message = _index_message(answer)
    if answer.status_code == 401:
        exc = AuthenticationRequired(message or "authentication required")
        exc.challenge = services().auth.challenge([])
        raise exc
    if answer.status_code >= 500:
        raise ProtocolError(errcode.UNKNOWN, "the Index cannot search now", status=503)
    code = errcode.DENIED if answer.status_code == 403 else errcode.UNSUPPORTED
    if answer.status_code == 400:
        code = errcode.PAGINATION_NUMBER_INVALID if "n" in message or "page" in message else code
    raise ProtocolError(code, message or f"HTTP {answer.status_code}", status=answer.status_code)


def _index_message(answer: requests.Response) -> str:
    """The message of the Index's error body (``{"error": {"message"}}``), else ""."""
    try:
        body = answer.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message[:500] if isinstance(message, str) else ""


def _number(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ProtocolError(
            errcode.PAGINATION_NUMBER_INVALID,
            f"{name} must be an integer from 1 to {maximum}",
            status=400,
        )
    return int(raw)


def _own_catalog():
    auth = services().auth
    try:
        g.identity = identity = auth.authenticate(request)
    except AuthenticationRequired as exc:
        exc.challenge = auth.challenge([], exc.error)
        raise
    query = (request.args.get("q") or "").strip()
    if len(query) > MAX_QUERY or "\x00" in query:
        raise ProtocolError(
            errcode.UNSUPPORTED, f"q must be at most {MAX_QUERY} characters", status=400
        )
    size = _number("n", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    page = _number("page", 1, MAX_PAGE)
    needle = query.lower()
    matches: list[str] = []
    last = None
    while True:  # the whole catalog: a registry without an Index is a small one
        names, more = content().catalog.page(1000, last)
        matches += [name for name in names if needle in name]
        if not more:
            break
        last = names[-1]
    allowed = set(auth.pullable(identity, request, matches)) if matches else set()
    matches = [name for name in matches if name in allowed]
    start = (page - 1) * size
    results = [
        {
            "name": name,
            "description": "",
            "star_count": 0,
            "is_official": False,
            "is_automated": False,
        }
        for name in matches[start : start + size]
    ]
    return jsonify(
        {
            "query": query,
            "num_results": len(matches),
            "num_pages": math.ceil(len(matches) / size),
            "page": page,
            "page_size": size,
            "results": results,
        }
    )
