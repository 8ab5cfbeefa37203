"""The Index's application factory.

Adding a surface: write a module (e.g. ``api/token.py`` or ``api/v1/__init__.py``) that
exposes ``bp`` (a Blueprint), optionally ``URL_PREFIX`` (default: none) and optionally
``init_app(app, context)`` (called before registration, e.g. to register URL converters),
then add the module to the list in :func:`surfaces`. Nothing else in this file needs to
change. The long-lived objects surfaces use (token authority, registry agent, ...) are
typed fields of the IndexContext, built once here (context.build_context); a new one
becomes a field there, never something a surface creates on first use.
"""

from __future__ import annotations

import re
import uuid
from types import ModuleType

from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from .adapters.db import Database
from .api.errors import register_error_handlers
from .context import EXTENSION, build_context
from .settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def surfaces() -> list[ModuleType]:
    """Return the modules whose ``bp`` the Index serves; add yours to the list.

    Surfaces: ``auth`` (/v2/token), ``v2_base`` (/v2/, for ``docker login``),
    ``internal`` (/internal/v1/...), ``v1`` (the original /v1/ handshake), ``api``
    (/api/v1/...), ``well_known`` (/.well-known/: the token keys), ``health``, ``metrics``
    (/metrics, and the request hooks that count every response), ``web`` (the web pages:
    /, /search, /signin, ...).
    """
    from . import health, web
    from .api import internal, metrics, rest, token, v1, v2_base, well_known

    return [
        health,
        metrics,
        rest,
        token,
        v2_base,
        internal,
        v1,
        well_known,
        web,
    ]


def create_app(settings: Settings | None = None, *, pool: Database | None = None) -> Flask:
    """Create and configure the Index WSGI app. Nothing connects at import or here.

    ``settings`` defaults to ``Settings.from_env()`` (ConfigError on bad variables);
    ``pool`` overrides the Database built from the settings (tests share one). The app's
    IndexContext (context.build_context: token authority, registry agent, housekeeper) is
    complete before the first request; the housekeeper is not started here (wsgi.py).
    """
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        # A form field's bytes, as sent: a README of 100,000 characters (4 UTF-8 bytes
        # each at most, each byte percent-encoded in 3) fits; Flask's default, 500 kB, not.
        MAX_FORM_MEMORY_SIZE=2 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    context = build_context(settings, db=pool)
    app.session_interface = _CookielessSessionInterface()
    if settings.trusted_proxies:  # the client address the login throttle counts by
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)
    app.extensions[EXTENSION] = context
    _init_request_ids(app)
    register_error_handlers(app)
    for module in surfaces():
        init_app = getattr(module, "init_app", None)
        if init_app is not None:
            init_app(app, context)
        app.register_blueprint(module.bp, url_prefix=getattr(module, "URL_PREFIX", None))
    return app


class _CookielessSessionInterface(SecureCookieSessionInterface):
    """Flask's cookie sessions, without building a signing serializer for requests that
    carry no session cookie (Docker clients and registries never do): the same empty
    session, for less CPU per token request."""

    def open_session(self, app: Flask, request):
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class() if app.secret_key else None
        return super().open_session(app, request)


def _init_request_ids(app: Flask) -> None:
    """Accept a sane ``X-Request-ID`` or make one; keep it on ``g`` and echo it."""

    @app.before_request
    def assign_request_id() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _REQUEST_ID_RE.match(given) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response):
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        return response
