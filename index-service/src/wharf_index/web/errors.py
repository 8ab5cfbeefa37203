"""HTML error pages for the web pages (the API keeps its JSON errors, api/errors.py).

A page about something the visitor may not see answers exactly what a page about
something that does not exist answers: the same status, title and text.
"""

from __future__ import annotations

import logging

from flask import render_template, request
from werkzeug.exceptions import HTTPException
from wharf_protocol.errcode import ApiError

from ..api.errors import respond, to_api_error
from ..domain import errors
from . import bp
from .session import CsrfFailed

logger = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    401: "Sign in required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    429: "Too many attempts",
    503: "Temporarily unavailable",
}
API_PATHS = ("/api/", "/v1/", "/v2/", "/internal/", "/.well-known/")
NOT_FOUND_TEXT = "There is nothing here, or it is not yours to see."


def page(status: int, message: str | None = None):
    """Render the error page for ``status`` with ``message`` (a default per status)."""
    title = TITLES.get(status, "Something went wrong")
    text = NOT_FOUND_TEXT if status == 404 else (message or title)
    return render_template("error.html", status=status, title=title, text=text), status


@bp.app_errorhandler(404)
def not_found(exc: HTTPException):
    """Unknown addresses: HTML for browsers, the API's JSON for everything else."""
    wants = request.accept_mimetypes.best_match(("application/json", "text/html"))
    if wants == "text/html" and not request.path.startswith(API_PATHS):
        return page(404)
    return respond(ApiError("NOT_FOUND", exc.description or exc.name, 404))


@bp.errorhandler(errors.IndexError_)
def domain_error(exc: errors.IndexError_):
    error = to_api_error(exc)
    return page(error.status, error.message)


@bp.errorhandler(errors.DatabaseUnavailable)
def unavailable(exc: errors.DatabaseUnavailable):
    logger.warning("database unavailable: %s", exc)
    return page(503, "The service is temporarily unavailable; try again in a moment.")


@bp.errorhandler(CsrfFailed)
def csrf_failed(exc: CsrfFailed):
    return page(400, "The form expired or came from another site; reload the page and retry.")


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    return page(exc.code or 500, exc.description)


@bp.errorhandler(ApiError)
def api_error(exc: ApiError):
    return page(exc.status, exc.message)
