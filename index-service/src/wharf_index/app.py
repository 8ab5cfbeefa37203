"""The Index's application factory."""

from __future__ import annotations

from flask import Flask

from . import health


def create_app() -> Flask:
    """Build the Index WSGI app. Nothing is created at import time."""
    app = Flask(__name__)
    app.register_blueprint(health.bp)
    return app
