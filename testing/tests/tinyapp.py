"""A tiny Flask app for the GunicornService tests (served from this directory)."""

import os
import sys

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/whoami")
    def whoami():
        print("tinyapp served whoami", file=sys.stderr, flush=True)
        return {"pid": os.getpid(), "greeting": os.environ.get("TINYAPP_GREETING", "")}

    return app


def create_broken_app() -> Flask:
    raise RuntimeError("tinyapp refuses to start: TINYAPP_BROKEN_MARKER")
