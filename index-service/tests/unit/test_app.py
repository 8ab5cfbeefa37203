"""The app factory, error translation and request ids, without a database."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys

import pytest
from wharf_index.adapters.db import Database, DatabaseUnavailable
from wharf_index.adapters.registry_http import RegistryHTTP
from wharf_index.api.errors import DOMAIN_ERRORS, to_api_error
from wharf_index.app import create_app
from wharf_index.context import EXTENSION, IndexContext
from wharf_index.domain import errors
from wharf_index.services.housekeeping import Housekeeper
from wharf_index.services.metrics import DatabaseCollector
from wharf_index.services.registry_agent import RegistryAgent
from wharf_index.services.tokens import TokenAuthority
from wharf_index.settings import Settings
from wharf_protocol.errcode import UNAUTHORIZED, ApiError, ProtocolError
from wharf_testing import free_port


@pytest.fixture
def offline_app():
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    settings = Settings(database_url=url, secret_key="k" * 32, log_format="text")
    app = create_app(settings, pool=Database(url, connect_timeout=1, pool_timeout=1))
    boom = {"exc": None}

    @app.get("/raise")
    def raise_it():
        raise boom["exc"]

    app.boom = boom
    return app


def _raise(app, exc):
    app.boom["exc"] = exc
    return app.test_client().get("/raise")


def test_create_app_does_not_connect(offline_app):
    assert offline_app.test_client().get("/healthz").json == {"status": "ok"}


def test_create_app_builds_every_long_lived_object_before_any_request(offline_app):
    context = offline_app.extensions[EXTENSION]
    assert [f.name for f in dataclasses.fields(IndexContext)] == [
        "settings",
        "db",
        "config",
        "authority",
        "agent",
        "housekeeper",
        "metrics",
    ]  # no free-form room
    built = (context.authority, context.agent, context.housekeeper, context.metrics)
    assert isinstance(context.authority, TokenAuthority)
    assert isinstance(context.agent, RegistryAgent) and isinstance(context.agent.http, RegistryHTTP)
    assert isinstance(context.housekeeper, Housekeeper)
    assert not context.housekeeper._thread.is_alive()  # built, started only by wsgi.py
    assert isinstance(context.metrics, DatabaseCollector)
    client = offline_app.test_client()
    assert client.get("/v2/").status_code == 401  # a Docker-facing surface, its challenge
    assert client.get("/v1/_ping").status_code == 200
    assert all(
        new is old
        for new, old in zip(
            (context.authority, context.agent, context.housekeeper, context.metrics),
            built,
            strict=True,
        )
    )


def test_only_the_served_app_runs_the_housekeeper():
    """wsgi.py (gunicorn's entry point) starts the thread create_app built; with every
    periodic task turned off there is none."""
    probe = (
        "import json, threading\nimport wharf_index.wsgi as w\n"
        "keeper = w.app.extensions['wharf_index'].housekeeper\n"
        "print(json.dumps([keeper is not None and keeper._thread.is_alive(),"
        " [t.name for t in threading.enumerate()]]))"
    )
    env = {
        **os.environ,
        "INDEX_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "INDEX_SECRET_KEY": "k" * 32,
        "INDEX_LOG_FORMAT": "text",
    }

    def run(**extra):
        done = subprocess.run(
            [sys.executable, "-c", probe],
            env=env | extra,
            timeout=60,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    alive, threads = run()
    assert alive and "wharf-housekeeping" in threads
    assert run(
        INDEX_DELETION_REDRIVE_INTERVAL="0", INDEX_PRUNE_INTERVAL="0", INDEX_RETENTION_INTERVAL="0"
    ) == [
        False,
        ["MainThread"],
    ]


def test_readyz_is_503_when_the_database_is_down(offline_app):
    response = offline_app.test_client().get("/readyz")
    assert response.status_code == 503


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (errors.RepositoryNotFound("a/b"), 404, "REPOSITORY_UNKNOWN"),
        (errors.UsernameTaken("bob"), 409, "USERNAME_TAKEN"),
        (errors.ReservedName("api"), 400, "NAME_RESERVED"),
        (errors.AuthenticationFailed(), 401, "UNAUTHORIZED"),
        (errors.PermissionDenied(), 403, "DENIED"),
        (errors.ValueInvalid("email", "bad"), 400, "INVALID"),
    ],
)
def test_domain_errors_become_api_errors(offline_app, exc, status, code):
    response = _raise(offline_app, exc)
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"] == str(exc)


def test_every_domain_error_class_has_a_mapping():
    def walk(cls):
        yield cls
        for sub in cls.__subclasses__():
            yield from walk(sub)

    for cls in walk(errors.IndexError_):
        assert any(base in DOMAIN_ERRORS for base in cls.__mro__)


def test_throttled_logins_carry_retry_after(offline_app):
    response = _raise(offline_app, errors.LoginThrottled(42))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "42"
    assert to_api_error(errors.LoginThrottled(42)).detail == {"retry_after": 42}


def test_api_and_protocol_errors_pass_through(offline_app):
    response = _raise(offline_app, ApiError("TOKEN_INVALID", "expired", 422, {"reason": "x"}))
    assert response.status_code == 422
    assert response.json == {
        "error": {"code": "TOKEN_INVALID", "message": "expired", "detail": {"reason": "x"}}
    }
    response = _raise(offline_app, ProtocolError(UNAUTHORIZED))
    assert response.status_code == 401
    assert response.json["errors"][0]["code"] == "UNAUTHORIZED"


def test_database_unavailable_is_503(offline_app):
    response = _raise(offline_app, DatabaseUnavailable("down"))
    assert response.status_code == 503
    assert response.json["error"]["code"] == "UNAVAILABLE"


def test_unexpected_errors_are_500_without_internals(offline_app, caplog):
    with caplog.at_level(logging.ERROR):
        response = _raise(offline_app, RuntimeError("secret internals at /srv/x.py"))
    assert response.status_code == 500
    assert response.json == {"error": {"code": "UNKNOWN", "message": "internal server error"}}
    assert "secret internals" in caplog.text


def test_unknown_route_and_method(offline_app):
    client = offline_app.test_client()
    assert client.get("/nope").json["error"]["code"] == "NOT_FOUND"
    response = client.post("/healthz")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_request_ids_are_echoed_or_made(offline_app):
    client = offline_app.test_client()
    echoed = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id;x"}).headers["X-Request-ID"]
    assert made and made != "bad id;x" and len(made) == 32


def test_the_registry_client_trusts_index_registry_tls_ca(offline_app):
    """INDEX_REGISTRY_TLS_CA goes to every call to registries; unset: system trust."""
    context = offline_app.extensions[EXTENSION]
    assert context.agent.http.verify is True
    url = context.settings.database_url
    settings = Settings(database_url=url, secret_key="k" * 32, registry_tls_ca="/etc/ca.pem")
    app = create_app(settings, pool=Database(url, connect_timeout=1, pool_timeout=1))
    assert app.extensions[EXTENSION].agent.http.verify == "/etc/ca.pem"
