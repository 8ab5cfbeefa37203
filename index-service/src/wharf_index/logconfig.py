"""Logging for the Index: :mod:`wharf_protocol.logs` with request ids from ``flask.g``.

``configure_logging(level, fmt)`` is called once, before the app is built (by the CLI, by
``wsgi``, or by gunicorn through ``gunicorn_conf.logconfig_dict``); every record then
carries the id of the request being served, so Index and Registry logs join on it.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from wharf_protocol import logs
from wharf_protocol.logs import FORMATS, LEVELS, redact

__all__ = [
    "FORMATS",
    "LEVELS",
    "configure_logging",
    "current_request_id",
    "logging_config",
    "redact",
]


def current_request_id() -> str:
    """Return the id of the request being served, or ``"-"`` outside a request context."""
    if not has_request_context():
        return "-"
    return str(g.get("request_id") or "-")


def logging_config(level: str = "INFO", fmt: str = "json") -> dict[str, Any]:
    """Return the ``dictConfig`` dictionary (ValueError for an unknown level or format)."""
    return logs.logging_config(level, fmt, current_request_id)


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Configure the logging tree once, to stdout, in ``fmt`` at ``level``."""
    logs.configure_logging(level, fmt, current_request_id)
