"""Logging both services share: one configuration, to stdout, JSON in production.

Each service calls :func:`configure_logging` once, before its app is built (from its CLI, its
``wsgi`` module, or gunicorn through ``logconfig_dict = logging_config(...)``), passing a
``request_id`` callable that returns the id of the HTTP request being served (the services read
``flask.g``; this package knows no Flask).

Every record that reaches the handler passes two filters:

- :class:`RequestIdFilter` sets ``record.request_id`` from that callable, or ``"-"`` outside a
  request, so Registry and Index logs can be joined on it.
- :class:`RedactingFilter` removes secrets that were passed to a log call by mistake:
  ``Authorization`` values (``Basic``/``Bearer`` credentials), fields or query parameters named
  like a password, token, secret or credential, the whole query string of a presigned URL, and
  the password of ``user:password@host`` URLs. It works on the final message (arguments are
  interpolated first), on structured ``extra=`` fields and on the exception text.

``fmt="json"`` writes one JSON object per line: ``time`` (UTC, ISO 8601), ``level``,
``logger``, ``message``, ``request_id``, every ``extra=`` field, and ``exc_info`` when an
exception is logged. ``fmt="text"`` is a one-line human format for development.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "FORMATS",
    "JsonFormatter",
    "RedactingFilter",
    "RequestIdFilter",
    "TextFormatter",
    "configure_logging",
    "logging_config",
    "redact",
]

FORMATS = ("json", "text")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MASK = "***"

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}

_SENSITIVE_KEY = re.compile(
    r"authorization|passw(or)?d|passwd|secret|token|credential|cookie|api[-_]?key"
    r"|signature|x-amz-security-token|sessionid",
    re.IGNORECASE,
)
_SENSITIVE_NAME = (
    r"[\w-]*(?:authorization|password|passwd|secret|token|credential|cookie|api[-_]?key"
    r"|signature|x-amz-security-token|x-amz-credential|awsaccesskeyid)[\w-]*"
)
# Order matters: whole presigned query strings first, then credentials, then key=value pairs.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # A URL whose query string signs a request (S3 v2/v4, GCS, Azure SAS): drop the query.
    (
        re.compile(
            r"(?P<keep>https?://[^\s?#'\"]+)\?(?=[^\s'\"]*"
            r"(?:X-Amz-Signature|X-Amz-Credential|Signature=|AWSAccessKeyId|X-Goog-Signature|sig=))"
            r"[^\s'\"#]*",
            re.IGNORECASE,
        ),
        r"\g<keep>?" + MASK,
    ),
    # user:password@host in a URL.
    (re.compile(r"(?P<keep>[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:)[^\s@/'\"]+@", re.I), r"\g<keep>***@"),
    # Authorization schemes, wherever they appear ("Authorization: Basic ...", "Bearer ...").
    (
        re.compile(
            r"(?P<keep>\b(?:Basic|Bearer|Token|Digest|AWS4-HMAC-SHA256)\s+)[^\s'\",]+", re.I
        ),
        r"\g<keep>" + MASK,
    ),
    # name=value, name: value, "name": "value", 'name': 'value' for secret-looking names.
    (
        re.compile(
            r"(?P<keep>(?P<q>['\"]?)\b" + _SENSITIVE_NAME + r"(?P=q)\s*[:=]\s*)"
            r"(?P<open>['\"]?)(?!\*\*\*)(?:(?:Basic|Bearer)\s+\*\*\*|[^\s'\",&;}]+)",
            re.IGNORECASE,
        ),
        r"\g<keep>\g<open>" + MASK,
    ),
)


def redact(value: Any) -> Any:
    """Return ``value`` with secrets masked; strings, mappings and sequences are walked.

    Mapping entries whose key looks like a secret (``Authorization``, ``password``,
    ``X-Amz-Security-Token``, ``*token*``...) have their value replaced by ``"***"``;
    strings are scanned with the patterns documented in the module docstring. Other objects
    are returned unchanged (their ``str()`` is redacted later, in the formatted message).
    """
    if isinstance(value, str):
        for pattern, replacement in _PATTERNS:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, Mapping):
        return {k: MASK if _is_secret_key(k) else redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v) for v in value)
    return value


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and bool(_SENSITIVE_KEY.search(key))


def _no_request() -> str:
    return "-"


class RequestIdFilter(logging.Filter):
    """Set ``record.request_id`` from the ``request_id`` callable (``"-"`` outside a request).

    A ``request_id`` passed with ``extra=`` is kept. Gunicorn's access records get the id
    the response carried in ``X-Request-ID`` and fields ``method``, ``path``, ``status``,
    ``bytes``, ``duration_ms``. Never rejects a record.
    """

    def __init__(self, request_id: Callable[[], str] = _no_request) -> None:
        super().__init__()
        self._request_id = request_id

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            _add_access_fields(record, record.args)
        if not getattr(record, "request_id", None):
            record.request_id = self._request_id()
        return True


def _add_access_fields(record: logging.LogRecord, atoms: Mapping[str, Any]) -> None:
    """Copy gunicorn's access-log atoms into structured fields (the Flask context is gone).

    The request id is the ``X-Request-ID`` the app echoed in its response.
    """
    request_id = atoms.get("{x-request-id}o")
    if request_id and request_id != "-":
        record.request_id = request_id
    record.method = atoms.get("m", "-")
    record.path = atoms.get("U", "-")
    record.status = atoms.get("s", "-")
    record.bytes = atoms.get("B", "-")
    record.duration_ms = atoms.get("M", "-")


class RedactingFilter(logging.Filter):
    """Mask secrets in the message and in ``extra=`` fields (see :func:`redact`).

    The message is interpolated first and the result redacted, so ``"%s" % header`` cannot
    smuggle a credential past the patterns (a mapping argument prints as ``'password': '...'``,
    which the patterns catch); ``record.args`` is emptied afterwards.
    Never rejects a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        for key in list(vars(record)):
            if key not in _RECORD_ATTRS:
                value = getattr(record, key)
                setattr(record, key, MASK if _is_secret_key(key) else redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack_info"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time level [request_id] logger: message`` for humans; exception text redacted."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = "-"
        return redact(super().format(record))


def logging_config(
    level: str = "INFO", fmt: str = "json", request_id: Callable[[], str] = _no_request
) -> dict[str, Any]:
    """Return the ``dictConfig`` dictionary for ``level`` and ``fmt``; ValueError if unknown.

    The root logger and gunicorn's ``gunicorn.error``/``gunicorn.access`` loggers all write
    to one stdout handler carrying both filters, so the access log is JSON too.
    """
    level = level.upper()
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; expected one of {', '.join(LEVELS)}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; expected one of {', '.join(FORMATS)}")
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    quiet = {"level": level, "handlers": ["stdout"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter, "request_id": request_id},
            "redact": {"()": RedactingFilter},
        },
        "formatters": {"wharf": {"()": formatter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "wharf",
                "filters": ["request_id", "redact"],
            }
        },
        "root": {"level": level, "handlers": ["stdout"]},
        "loggers": {
            "gunicorn.error": dict(quiet),
            "gunicorn.access": {**quiet, "level": "INFO"},
            "botocore": {"level": "WARNING"},
            "boto3": {"level": "WARNING"},
            "urllib3": {"level": "WARNING"},
        },
    }


def configure_logging(
    level: str = "INFO", fmt: str = "json", request_id: Callable[[], str] = _no_request
) -> None:
    """Configure the logging tree once (``dictConfig``) to stdout in ``fmt`` at ``level``."""
    logging.config.dictConfig(logging_config(level, fmt, request_id))
