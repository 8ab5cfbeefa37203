"""The one place where errors become HTTP responses.

- :class:`~wharf_protocol.errcode.ApiError` -> its own body and status.
- :class:`~wharf_protocol.errcode.ProtocolError` (Docker/OCI surfaces: /v2/token, /v1/)
  -> the ``{"errors": [...]}`` envelope and its status.
- PullLimitReached (the token endpoint, /v1/ handshakes: Docker surfaces) -> 429 in the
  ``{"errors": [...]}`` envelope with code ``TOOMANYREQUESTS`` and ``Retry-After``: the body
  Docker reads from a token server (distribution's ``HandleErrorResponse``), so ``docker
  pull`` says ``toomanyrequests: pull rate limit reached ...``.
- other domain errors -> ``DOMAIN_ERRORS`` (walked along the exception's MRO, so a subclass
  without its own entry gets its parent's) -> ``{"error": {"code", "message"[, "detail"]}}``.
- wharf_protocol TokenError (token verification) -> 422 ``TOKEN_INVALID`` with
  ``detail.reason``; EventsInvalid (registry events) -> 400 ``EVENTS_INVALID``.
- RegistryUnavailable (a registry the request calls cannot be reached) -> 503
  ``REGISTRY_UNAVAILABLE`` with ``Retry-After``; RegistryRefused -> 502.
- DatabaseUnavailable -> 503 ``UNAVAILABLE`` with ``Retry-After``; SigningKeysUnreadable
  (``INDEX_SECRET_KEY`` changed under the stored signing key) -> logged, 503 ``UNAVAILABLE``.
- werkzeug HTTPException -> its status with a code from ``HTTP_CODES``; requests gunicorn
  refused before the app saw them (bad or oversized head) get the same body through
  :func:`refused_request_body`, which the gunicorn worker calls (gunicorn_conf.py).
- anything else -> logged with its stack (and the request id), 500 ``UNKNOWN`` without
  internals.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException
from wharf_protocol.errcode import (
    API_EVENTS_INVALID,
    API_TOKEN_INVALID,
    TOOMANYREQUESTS,
    ApiError,
    ProtocolError,
    envelope,
)
from wharf_protocol.events import EventsInvalid
from wharf_protocol.scopes import bearer_challenge
from wharf_protocol.tokens import TokenError

from ..context import current
from ..domain import errors

logger = logging.getLogger(__name__)

DOMAIN_ERRORS: dict[type[Exception], tuple[str, int]] = {
    errors.NotFound: ("NOT_FOUND", 404),
    errors.UserNotFound: ("USER_UNKNOWN", 404),
    errors.NamespaceNotFound: ("NAMESPACE_UNKNOWN", 404),
    errors.OrganisationNotFound: ("ORGANISATION_UNKNOWN", 404),
    errors.TeamNotFound: ("TEAM_UNKNOWN", 404),
    errors.RepositoryNotFound: ("REPOSITORY_UNKNOWN", 404),
    errors.AccessTokenNotFound: ("TOKEN_UNKNOWN", 404),
    errors.RegistryNotFound: ("REGISTRY_UNKNOWN", 404),
    errors.InvitationNotFound: ("INVITATION_UNKNOWN", 404),
    errors.InvitationInvalid: ("INVITATION_INVALID", 404),
    errors.Conflict: ("CONFLICT", 409),
    errors.UsernameTaken: ("USERNAME_TAKEN", 409),
    errors.NamespaceTaken: ("NAMESPACE_TAKEN", 409),
    errors.RepositoryExists: ("REPOSITORY_EXISTS", 409),
    errors.TeamExists: ("TEAM_EXISTS", 409),
    errors.RegistryExists: ("REGISTRY_EXISTS", 409),
    errors.Invalid: ("INVALID", 400),
    errors.NameInvalid: ("NAME_INVALID", 400),
    errors.ReservedName: ("NAME_RESERVED", 400),
    errors.PasswordInvalid: ("PASSWORD_INVALID", 400),
    errors.ScopeInvalid: ("SCOPE_INVALID", 400),
    errors.RoleInvalid: ("ROLE_INVALID", 400),
    errors.VisibilityInvalid: ("VISIBILITY_INVALID", 400),
    errors.FieldInvalid: ("VALIDATION_FAILED", 400),
    errors.AuthenticationFailed: ("UNAUTHORIZED", 401),
    errors.RegistryCredentialInvalid: ("UNAUTHORIZED", 401),
    errors.LoginThrottled: ("TOOMANYREQUESTS", 429),
    errors.PullLimitReached: ("TOOMANYREQUESTS", 429),
    errors.TokenRefused: ("DENIED", 401),
    errors.PermissionDenied: ("DENIED", 403),
    errors.TagImmutable: ("TAG_IMMUTABLE", 409),
    errors.RegistryCallFailed: ("REGISTRY_UNAVAILABLE", 502),
    errors.RegistryUnavailable: ("REGISTRY_UNAVAILABLE", 503),
    errors.IndexError_: ("INVALID", 400),
}

HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    408: "REQUEST_TIMEOUT",
    409: "CONFLICT",
    413: "TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "INVALID",
    429: "TOOMANYREQUESTS",
    431: "HEADERS_TOO_LARGE",
}


def code_for_status(status: int) -> str:
    """The error code of a bare HTTP status (``HTTP_CODES``, else BAD_REQUEST / UNKNOWN)."""
    return HTTP_CODES.get(status, "UNKNOWN" if status >= 500 else "BAD_REQUEST")


def refused_request_body(status: int, message: str) -> dict:
    """The error body for a request refused before the app saw it (400/408/414/431)."""
    return ApiError(code_for_status(status), message, status).to_body()


def to_api_error(exc: errors.IndexError_) -> ApiError:
    """Translate a domain error into the Index API error (code and status by type)."""
    for cls in type(exc).__mro__:
        if cls in DOMAIN_ERRORS:
            code, status = DOMAIN_ERRORS[cls]
            break
    else:  # pragma: no cover - IndexError_ is in the table
        code, status = "INVALID", 400
    field = (
        getattr(exc, "field", None)
        if isinstance(exc, errors.Invalid | errors.StateConflict)
        else None
    )
    detail = {"field": field} if field else None
    if isinstance(exc, errors.FieldInvalid):  # the schemas' shape: messages per field
        detail = {exc.field: [str(exc)]}
    if isinstance(exc, errors.LoginThrottled | errors.PullLimitReached):
        detail = {"retry_after": exc.retry_after}
    if isinstance(exc, errors.TagImmutable):
        detail = {"tag": exc.tag, "pattern": exc.pattern}
    return ApiError(code, str(exc), status, detail)


def _refusal_challenge(exc: errors.TokenRefused) -> str:
    """The token endpoint's challenge for a refused token request (a push into
    ``library``, a registry kind's refusal): its message as RFC 6750's
    ``error_description`` (messages hold names, which hold no quote or backslash)."""
    realm = current().settings.public_url.rstrip("/") + "/v2/token"
    challenge = bearer_challenge(
        realm, request.values.get("service", ""), [exc.scope], error="insufficient_scope"
    )
    return f'{challenge},error_description="{exc}"'


def respond(error: ApiError, headers: dict | None = None):
    """The JSON response of ``error`` (with extra ``headers``)."""
    response = jsonify(error.to_body())
    response.status_code = error.status
    response.headers.update(headers or {})
    return response


def register_error_handlers(app: Flask) -> None:
    """Install the handlers described in the module docstring on ``app``."""

    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError):
        return respond(exc)

    @app.errorhandler(ProtocolError)
    def handle_protocol_error(exc: ProtocolError):
        response = jsonify(envelope(exc))
        response.status_code = exc.status
        return response

    @app.errorhandler(errors.PullLimitReached)
    def handle_pull_limit(exc: errors.PullLimitReached):
        detail = {"limit": exc.limit, "window": exc.window, "retry_after": exc.retry_after}
        response = jsonify(envelope(ProtocolError(TOOMANYREQUESTS, str(exc), detail)))
        response.status_code = 429
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(errors.IndexError_)
    def handle_domain_error(exc: errors.IndexError_):
        headers = {}
        if isinstance(exc, errors.LoginThrottled):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, errors.RegistryUnavailable):
            headers["Retry-After"] = "5"
        if isinstance(exc, errors.TokenRefused):
            headers["WWW-Authenticate"] = _refusal_challenge(exc)
        return respond(to_api_error(exc), headers)

    @app.errorhandler(TokenError)
    def handle_token_error(exc: TokenError):  # token verification refusals (internal)
        detail = {"reason": exc.reason}
        return respond(ApiError(API_TOKEN_INVALID, str(exc), 422, detail))

    @app.errorhandler(EventsInvalid)
    def handle_events_invalid(exc: EventsInvalid):  # registry events (internal)
        detail = {"messages": exc.messages}
        return respond(ApiError(API_EVENTS_INVALID, "invalid events envelope", 400, detail))

    @app.errorhandler(errors.DatabaseUnavailable)
    def handle_unavailable(exc: errors.DatabaseUnavailable):
        logger.warning("database unavailable: %s", exc)
        error = ApiError("UNAVAILABLE", "the service is temporarily unavailable", 503)
        return respond(error, {"Retry-After": "1"})

    @app.errorhandler(errors.SigningKeysUnreadable)
    def handle_keys_unreadable(exc: errors.SigningKeysUnreadable):
        logger.error("%s", exc)
        return respond(ApiError("UNAVAILABLE", "the service is temporarily unavailable", 503))

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException):
        status = exc.code or 500
        code = code_for_status(status)
        headers = dict(exc.get_headers()) if status == 405 else {}
        headers.pop("Content-Type", None)
        return respond(ApiError(code, exc.description or exc.name, status), headers)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        logger.exception("unhandled error")
        return respond(ApiError("UNKNOWN", "internal server error", 500))
