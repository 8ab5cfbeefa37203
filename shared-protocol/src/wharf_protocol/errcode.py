"""Wire errors: the OCI error-code table, the Registry's error envelope, the Index's error body.

Registry (OCI distribution spec, "Error Codes", ``code-1`` .. ``code-15``): every error
response body is ``{"errors": [{"code": ..., "message": ..., "detail": ...}]}`` where ``code``
is one of the table's values, ``message`` a human string and ``detail`` optional unstructured
data. The HTTP status is the one the spec lists beside each endpoint; :class:`ErrorCode`
records the usual one and a :class:`ProtocolError` may override it (``UNSUPPORTED`` is 405 or
415 depending on the case).

Index JSON API: one shape, ``{"error": {"code": ..., "message": ...[, "detail": ...]}}``, raised
as :class:`ApiError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import jsondepth

__all__ = [
    "API_EVENTS_INVALID",
    "API_TOKEN_INVALID",
    "ApiError",
    "ErrorCode",
    "ProtocolError",
    "envelope",
    "lookup",
    "parse_api_error",
    "parse_envelope",
    "register",
    "registered",
]


@dataclass(frozen=True)
class ErrorCode:
    """One row of the error-code table: wire value, default message, usual status."""

    value: str
    message: str
    http_status: int
    description: str = ""


_REGISTRY: dict[str, ErrorCode] = {}


def register(value: str, message: str, http_status: int, description: str = "") -> ErrorCode:
    """Add a code to the table and return it.

    Raises ValueError if ``value`` is already registered (codes are additive and unique).
    """
    if value in _REGISTRY:
        raise ValueError(f"error code already registered: {value}")
    code = ErrorCode(value, message, http_status, description)
    _REGISTRY[value] = code
    return code


def lookup(value: str) -> ErrorCode:
    """Return the registered code for ``value``; unknown values give :data:`UNKNOWN`."""
    return _REGISTRY.get(value, UNKNOWN)


def registered() -> tuple[ErrorCode, ...]:
    """Return every registered code, in registration order."""
    return tuple(_REGISTRY.values())


# Distribution spec, "Error Codes" (messages from the spec table, descriptions from the
# reference registry's registry/api/v2/errors.go and registry/api/errcode/register.go).
BLOB_UNKNOWN = register(
    "BLOB_UNKNOWN",
    "blob unknown to registry",
    404,
    "This error may be returned when a blob is unknown to the registry in a specified "
    "repository. This can be returned with a standard get or if a manifest references an "
    "unknown layer during upload.",
)  # code-1
BLOB_UPLOAD_INVALID = register(
    "BLOB_UPLOAD_INVALID",
    "blob upload invalid",
    400,
    "The blob upload encountered an error and can no longer proceed.",
)  # code-2
BLOB_UPLOAD_UNKNOWN = register(
    "BLOB_UPLOAD_UNKNOWN",
    "blob upload unknown to registry",
    404,
    "If a blob upload has been cancelled or was never started, this error code may be returned.",
)  # code-3
DIGEST_INVALID = register(
    "DIGEST_INVALID",
    "provided digest did not match uploaded content",
    400,
    "When a blob is uploaded, the registry will check that the content matches the digest "
    "provided by the client. The error may include a detail structure with the key "
    '"digest", including the invalid digest string. This error may also be returned when a '
    "manifest includes an invalid layer digest.",
)  # code-4
MANIFEST_BLOB_UNKNOWN = register(
    "MANIFEST_BLOB_UNKNOWN",
    "manifest references a manifest or blob unknown to registry",
    404,
    "This error may be returned when a manifest blob is unknown to the registry.",
)  # code-5
MANIFEST_INVALID = register(
    "MANIFEST_INVALID",
    "manifest invalid",
    400,
    "During upload, manifests undergo several checks ensuring validity. If those checks "
    "fail, this error may be returned, unless a more specific error is included. The detail "
    "will contain information the failed validation.",
)  # code-6
MANIFEST_UNKNOWN = register(
    "MANIFEST_UNKNOWN",
    "manifest unknown to registry",
    404,
    "This error is returned when the manifest, identified by name and tag is unknown to the "
    "repository.",
)  # code-7
NAME_INVALID = register(
    "NAME_INVALID",
    "invalid repository name",
    400,
    "Invalid repository name encountered either during manifest validation or any API operation.",
)  # code-8
NAME_UNKNOWN = register(
    "NAME_UNKNOWN",
    "repository name not known to registry",
    404,
    "This is returned if the name used during an operation is unknown to the registry.",
)  # code-9
SIZE_INVALID = register(
    "SIZE_INVALID",
    "provided length did not match content length",
    400,
    "When a layer is uploaded, the provided size will be checked against the uploaded "
    "content. If they do not match, this error will be returned.",
)  # code-10
UNAUTHORIZED = register(
    "UNAUTHORIZED",
    "authentication required",
    401,
    "The access controller was unable to authenticate the client. Often this will be "
    "accompanied by a Www-Authenticate HTTP response header indicating how to authenticate.",
)  # code-12
DENIED = register(
    "DENIED",
    "requested access to the resource is denied",
    403,
    "The access controller denied access for the operation on a resource.",
)  # code-13
UNSUPPORTED = register(
    "UNSUPPORTED",
    "the operation is unsupported",
    415,
    "The operation was unsupported due to a missing implementation or invalid set of "
    "parameters (the spec answers 405 for a disabled method, 415 for an unsupported media "
    "type: pass status= to ProtocolError).",
)  # code-14
TOOMANYREQUESTS = register(
    "TOOMANYREQUESTS",
    "too many requests",
    429,
    "Returned when a client attempts to contact a service too many times.",
)  # code-15
PAGINATION_NUMBER_INVALID = register(
    "PAGINATION_NUMBER_INVALID",
    "invalid number of results requested",
    400,
    "The reference registry's code (registry/api/v2/errors.go) for a bad n or last parameter "
    "of the tags list or the catalog.",
)
INDEX_UNAVAILABLE = register(
    "INDEX_UNAVAILABLE",
    "the token service (Wharf Index) is unavailable",
    503,
    "Wharf extension (token mode): the Index that verifies tokens cannot be reached, or refuses "
    "the registry's credential, and the token is not in the verification cache. Retrying later "
    "helps; the spec's table has no 503 code and UNKNOWN would read as a registry bug.",
)
UNKNOWN = register(
    "UNKNOWN",
    "unknown error",
    500,
    "Generic error returned when the error does not have an API classification.",
)

#: Index API error codes the Registry -> Index protocol relies on (see wharf_protocol.client).
API_TOKEN_INVALID = "TOKEN_INVALID"  # noqa: S105 - an error code, not a secret
API_EVENTS_INVALID = "EVENTS_INVALID"


class ProtocolError(Exception):
    """A Registry wire error: a code, a message, optional detail, a status.

    ``message`` defaults to the code's message and ``status`` to its ``http_status``.
    ``to_dict()`` is one entry of the ``errors`` array (``detail`` omitted when None).
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str | None = None,
        detail: Any = None,
        status: int | None = None,
    ) -> None:
        self.code = code
        self.message = message if message is not None else code.message
        self.detail = detail
        self.status = status if status is not None else code.http_status
        super().__init__(f"{code.value}: {self.message}")

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form ``{"code", "message"[, "detail"]}``."""
        body: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.detail is not None:
            body["detail"] = self.detail
        return body

    def __repr__(self) -> str:
        return f"ProtocolError({self.code.value!r}, {self.message!r}, status={self.status})"


def envelope(*errors: ProtocolError) -> dict[str, list[dict[str, Any]]]:
    """Return the spec's error body ``{"errors": [...]}`` for ``errors``."""
    return {"errors": [error.to_dict() for error in errors]}


def _as_mapping(body: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    if isinstance(body, str | bytes):
        try:
            body = jsondepth.loads(body)
        except ValueError as exc:
            raise ValueError(f"error body is not JSON: {exc}") from None
    if not isinstance(body, Mapping):
        raise ValueError("error body is not a JSON object")
    return body


def parse_envelope(body: Mapping[str, Any] | str | bytes) -> list[ProtocolError]:
    """Parse a Registry error body (object, or its JSON text) into ProtocolErrors.

    Codes not in the table are kept as unregistered ErrorCodes (status 500) so that clients
    see the value the server sent. Raises ValueError if the body is not an error envelope.
    """
    errors = _as_mapping(body).get("errors")
    if not isinstance(errors, list):
        raise ValueError('error body has no "errors" list')
    parsed = []
    for item in errors:
        if not isinstance(item, Mapping) or not isinstance(item.get("code"), str):
            raise ValueError("error entry without a string code")
        value, message = item["code"], item.get("message")
        code = _REGISTRY.get(value) or ErrorCode(value, str(message or ""), 500)
        parsed.append(
            ProtocolError(code, None if message is None else str(message), item.get("detail"))
        )
    return parsed


class ApiError(Exception):
    """An Index JSON API error: ``code`` (e.g. ``TOKEN_INVALID``), message, status, detail.

    ``to_body()`` gives ``{"error": {"code", "message"[, "detail"]}}``.
    """

    def __init__(self, code: str, message: str, status: int, detail: Any = None) -> None:
        self.code = code
        self.message = message
        self.status = status
        self.detail = detail
        super().__init__(f"{code}: {message}")

    def to_body(self) -> dict[str, dict[str, Any]]:
        """Return the wire form of this error."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            error["detail"] = self.detail
        return {"error": error}

    def __repr__(self) -> str:
        return f"ApiError({self.code!r}, {self.message!r}, {self.status})"


def parse_api_error(body: Mapping[str, Any] | str | bytes, status: int = 500) -> ApiError:
    """Parse an Index error body (object or JSON text) into an :class:`ApiError`.

    ``status`` is the response's HTTP status. Raises ValueError if the body does not have
    the ``{"error": {"code": str, "message": ...}}`` shape.
    """
    error = _as_mapping(body).get("error")
    if not isinstance(error, Mapping) or not isinstance(error.get("code"), str):
        raise ValueError('error body has no "error" object with a string code')
    return ApiError(error["code"], str(error.get("message", "")), status, error.get("detail"))
