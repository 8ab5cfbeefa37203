"""The one translation point from exceptions to the spec's error envelopes.

``DOMAIN_ERRORS`` maps exception types (looked up along the MRO, most specific first) to a
function returning the wire errors; ``register_error_handlers(app)`` installs handlers for
ProtocolError, the table's exceptions, werkzeug's HTTPException and everything else
(``UNKNOWN`` 500, logged with the request id and stack, no internals in the answer).
``refused_request_body`` is the same envelope for requests the server refused before the
app saw them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from wharf_protocol import errcode
from wharf_protocol.digests import DigestInvalid
from wharf_protocol.errcode import ProtocolError
from wharf_protocol.names import NameInvalid, ReferenceInvalid, TagInvalid

from ..auth import AccessDenied, AuthenticationRequired
from ..auth.pull_meter import PullLimitReached, rate_limit_headers
from ..auth.token import IndexUnreachable, InsufficientScope
from ..content import errors as ce
from ..proxy import ProxyPushRefused, UpstreamRateLimited, UpstreamUnavailable
from .access import ReadOnly
from .helpers import upload_location, upload_range
from .quota import QuotaExceeded

logger = logging.getLogger(__name__)


PAGINATION_NUMBER_INVALID = errcode.PAGINATION_NUMBER_INVALID
INDEX_UNAVAILABLE = errcode.INDEX_UNAVAILABLE

Errors = list[ProtocolError]


def _one(
    code: errcode.ErrorCode,
    status: int | None = None,
    detail: Callable[[Exception], object] = lambda exc: None,
) -> Callable[[Exception], Errors]:
    return lambda exc: [ProtocolError(code, str(exc), detail(exc), status)]


DOMAIN_ERRORS: dict[type[BaseException], Callable[[Exception], Errors]] = {
    NameInvalid: _one(errcode.NAME_INVALID),
    ce.NameUnknown: _one(errcode.NAME_UNKNOWN, detail=lambda e: {"name": e.name}),
    ce.BlobUnknown: _one(errcode.BLOB_UNKNOWN, detail=lambda e: {"digest": e.digest}),
    ce.UploadUnknown: _one(errcode.BLOB_UPLOAD_UNKNOWN),
    ce.UploadInvalid: _one(errcode.BLOB_UPLOAD_INVALID),
    ce.DigestMismatch: _one(errcode.DIGEST_INVALID, detail=lambda e: {"digest": e.expected}),
    DigestInvalid: _one(errcode.DIGEST_INVALID),
    ce.SizeInvalid: _one(errcode.SIZE_INVALID),
    ce.UploadRangeInvalid: _one(errcode.BLOB_UPLOAD_INVALID, 416),
    ce.RangeNotSatisfiable: _one(errcode.SIZE_INVALID, 416, detail=lambda e: {"size": e.size}),
    ce.ManifestTooLarge: _one(errcode.MANIFEST_INVALID, 413),
    ce.DescriptorSizeMismatch: lambda e: [
        ProtocolError(
            errcode.MANIFEST_INVALID,
            f"descriptor size {declared} is not the size of {d} ({stored})",
            {"digest": d, "size": declared},
        )
        for d, declared, stored in e.mismatches
    ],
    ce.ManifestInvalid: _one(errcode.MANIFEST_INVALID),
    ReferenceInvalid: _one(errcode.MANIFEST_INVALID),
    TagInvalid: _one(errcode.MANIFEST_INVALID),
    ce.ManifestBlobUnknown: lambda e: [
        ProtocolError(errcode.MANIFEST_BLOB_UNKNOWN, detail={"digest": d}) for d in e.digests
    ],
    ce.ManifestUnknown: _one(errcode.MANIFEST_UNKNOWN, detail=lambda e: {"reference": e.reference}),
    ce.TagImmutable: _one(
        errcode.DENIED, 403, detail=lambda e: {"tag": e.tag, "pattern": e.pattern}
    ),
    ce.CollectorBusy: _one(errcode.UNKNOWN, 503),
    ce.PaginationInvalid: _one(PAGINATION_NUMBER_INVALID),
    AuthenticationRequired: _one(errcode.UNAUTHORIZED),
    InsufficientScope: _one(errcode.UNAUTHORIZED, detail=lambda e: {"scope": str(e.scope)}),
    IndexUnreachable: _one(INDEX_UNAVAILABLE),
    AccessDenied: _one(errcode.DENIED, detail=lambda e: {"scope": str(e.scope)}),
    ReadOnly: _one(errcode.UNSUPPORTED, 405),
    ProxyPushRefused: _one(errcode.UNSUPPORTED, 405),
    UpstreamUnavailable: _one(errcode.UNKNOWN, 503),
    UpstreamRateLimited: _one(errcode.TOOMANYREQUESTS, 429),
    PullLimitReached: _one(
        errcode.TOOMANYREQUESTS,
        detail=lambda e: {"limit": e.limit.limit, "window": e.limit.window},
    ),
    QuotaExceeded: _one(
        errcode.DENIED,
        403,
        detail=lambda e: {
            "namespace": e.namespace,
            "limit": e.limit,
            "used": e.used,
            "size": e.size,
        },
    ),
}

_HTTP_CODES = {
    401: errcode.UNAUTHORIZED,
    403: errcode.DENIED,
    404: errcode.NAME_UNKNOWN,
    405: errcode.UNSUPPORTED,
    413: errcode.SIZE_INVALID,
    415: errcode.UNSUPPORTED,
    416: errcode.SIZE_INVALID,
    429: errcode.TOOMANYREQUESTS,
}


def translate(exc: Exception) -> Errors | None:
    """Return the wire errors for a domain exception, or None if it is not in the table."""
    for cls in type(exc).__mro__:
        if cls in DOMAIN_ERRORS:
            return DOMAIN_ERRORS[cls](exc)
    return None


def error_response(errors: Errors, headers: dict[str, str] | None = None) -> Response:
    """Return the ``{"errors": [...]}`` response; status of the first error."""
    response = jsonify(errcode.envelope(*errors))
    response.status_code = errors[0].status
    response.headers.update(headers or {})
    return response


def refused_request_body(status: int, message: str) -> dict:
    """The envelope for a request gunicorn refused before the app saw it (bad or oversized
    head, 400/408/414/431): the code :func:`_http_error` gives that status (the spec has none
    for these, so ``UNKNOWN``). Used by the gunicorn worker (gunicorn_conf.py)."""
    code = _HTTP_CODES.get(status, errcode.UNKNOWN)
    return errcode.envelope(ProtocolError(code, message, status=status))


def register_error_handlers(app: Flask) -> None:
    """Install the app's error handlers (once, in create_app)."""
    app.register_error_handler(ProtocolError, lambda exc: error_response([exc]))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _any_error)


def _any_error(exc: Exception) -> Response:
    errors = translate(exc)
    if errors is None:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response([ProtocolError(errcode.UNKNOWN, "internal server error")])
    return error_response(errors, _headers(exc))


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status == 404 and not request.path.startswith("/v2/"):
        return exc.get_response()
    code = _HTTP_CODES.get(status, errcode.UNKNOWN)
    message = code.message if code is not errcode.UNKNOWN else (exc.description or exc.name)
    response = error_response([ProtocolError(code, message, status=status)])
    if status == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _headers(exc: Exception) -> dict[str, str]:
    if isinstance(exc, AuthenticationRequired) and exc.challenge:
        return {"WWW-Authenticate": exc.challenge}
    if isinstance(exc, UpstreamRateLimited):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, IndexUnreachable | ce.CollectorBusy | UpstreamUnavailable):
        return {"Retry-After": "5"}
    if isinstance(exc, PullLimitReached):
        return {"Retry-After": str(exc.retry_after), **rate_limit_headers(exc.limit, 0)}
    if isinstance(exc, ce.UploadRangeInvalid):
        name = (request.view_args or {}).get("name", "")
        return {
            "Location": upload_location(name, exc.upload_id),
            "Range": upload_range(exc.size),
            "Docker-Upload-UUID": exc.upload_id,
            "Blob-Upload-Session-ID": exc.upload_id,
        }
    if isinstance(exc, ce.RangeNotSatisfiable):
        return {"Content-Range": f"bytes */{exc.size}"}
    return {}
