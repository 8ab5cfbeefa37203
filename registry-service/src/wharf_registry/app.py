"""The Registry's application factory."""

from __future__ import annotations

import re
import socket
import uuid

from flask import Flask, Response, g, request

from . import api, health
from .api.converters import RepoNameConverter
from .api.errors import register_error_handlers
from .api.helpers import Services
from .auth import create_authenticator
from .content import Content
from .events import Emitter, EventSink, NullSink
from .settings import ConfigError, Settings
from .storage import create_driver
from .storage.base import StorageConfigError, StorageDriver

API_VERSION = "registry/2.0"
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def create_app(settings: Settings | None = None, *, driver: StorageDriver | None = None,
               sink: EventSink | None = None) -> Flask:
    """Build the Registry WSGI app. Nothing is created at import time.

    ``settings`` defaults to ``Settings.from_env()`` (ConfigError naming every bad variable);
    ``driver`` and ``sink`` override what the settings would build (tests inject them).
    """
    settings = settings or Settings.from_env()
    driver = driver or _driver(settings)
    app = Flask(__name__, static_folder=None)
    app.config.update(SETTINGS=settings, MAX_CONTENT_LENGTH=None)
    source = settings.http_host or socket.gethostname()
    app.extensions["registry"] = Services(
        settings=settings,
        content=Content(driver, manifest_max_size=settings.manifest_max_size),
        auth=create_authenticator(settings),
        events=Emitter(sink or NullSink(), source_addr=source),
    )
    app.url_map.converters["repo"] = RepoNameConverter
    app.url_map.strict_slashes = False
    app.before_request(_start_request)
    app.after_request(_finish_response)
    register_error_handlers(app)
    app.register_blueprint(api.bp, url_prefix="/v2")
    app.register_blueprint(health.bp)
    return app


def _driver(settings: Settings) -> StorageDriver:
    try:
        return create_driver(settings.storage_driver, settings.storage_params)
    except StorageConfigError as exc:
        prefix = f"REGISTRY_STORAGE_{settings.storage_driver.upper()}_*"
        raise ConfigError([f"{prefix}: {exc}"]) from None


def _start_request() -> None:
    """Accept a sane ``X-Request-ID`` from the caller or make one."""
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID_RE.fullmatch(given) else uuid.uuid4().hex


def _finish_response(response: Response) -> Response:
    """Echo the request id; announce the API version on every response."""
    response.headers["X-Request-ID"] = g.get("request_id", "")
    response.headers["Docker-Distribution-API-Version"] = API_VERSION
    return response
