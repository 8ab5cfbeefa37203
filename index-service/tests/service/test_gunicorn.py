"""The Index under real gunicorn (wsgi.py): fork-safe pool, readiness, database restarts;
requests refused before the app sees them (JSON error shape); no control socket.
"""

from __future__ import annotations

import json
import os
import sys
from urllib.parse import urlencode, urlsplit

import pytest
import requests
import wharf_index
import wharf_protocol
from wharf_protocol.errcode import parse_api_error
from wharf_protocol.serving import (
    LIMIT_REQUEST_FIELD_SIZE,
    LIMIT_REQUEST_FIELDS,
    LIMIT_REQUEST_HEAD,
    LIMIT_REQUEST_LINE,
)
from wharf_testing import free_port, processes
from wharf_testing.misbehaving import RawResponse, raw_exchange, timed_get

from tests.conftest import SECRET_KEY, terminate_sessions
from tests.service.conftest import REGISTRY

pytestmark = pytest.mark.db


def _pythonpath() -> str:
    roots = {
        os.path.dirname(os.path.dirname(os.path.abspath(m.__file__)))
        for m in (wharf_index, wharf_protocol)
    }
    return os.pathsep.join(sorted(roots))


def test_serves_and_recovers_from_lost_connections(service_factory, db_url):
    env = {
        "INDEX_DATABASE_URL": db_url,
        "INDEX_SECRET_KEY": SECRET_KEY,
        "INDEX_LOG_FORMAT": "json",
        "PYTHONPATH": _pythonpath(),
    }
    service = service_factory(
        "wharf_index.wsgi:app",
        env,
        "index",
        workers=2,
        threads=2,
        health_path="/readyz",
        worker_class=None,
        extra_args=("-c", "python:wharf_index.gunicorn_conf"),
    )
    statuses = [requests.get(service.url + "/readyz", timeout=10).status_code for _ in range(8)]
    assert statuses == [200] * 8
    terminate_sessions(db_url)
    statuses = [requests.get(service.url + "/readyz", timeout=10).status_code for _ in range(8)]
    assert statuses == [200] * 8  # stale pooled connections are replaced, never surfaced
    response = requests.get(
        service.url + "/healthz", headers={"X-Request-ID": "req-42"}, timeout=10
    )
    assert response.headers["X-Request-ID"] == "req-42"
    log = service.log()
    assert SECRET_KEY not in log
    access = [
        json.loads(line)
        for line in log.splitlines()
        if line.startswith("{") and '"gunicorn.access"' in line
    ]
    assert access and all(entry["level"] == "INFO" for entry in access)


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


def _request(target: str, *fields: str) -> bytes:
    return (f"GET {target} HTTP/1.1\r\nHost: index.test\r\n" + "".join(fields) + "\r\n").encode()


def _assert_index_error(response: RawResponse, status: int, code: str) -> None:
    assert response.status == status, response
    assert response.headers["content-type"] == "application/json"
    error = parse_api_error(response.body, response.status)
    assert error.code == code and error.message


def test_requests_over_the_limits_get_the_json_error_shape(served_index):
    address = _address(served_index().url)
    long_target = "/api/v1/openapi.json?q=" + "a" * (LIMIT_REQUEST_LINE + 1)
    _assert_index_error(raw_exchange(address, _request(long_target)), 414, "URI_TOO_LONG")
    many = [f"X-Field-{i}: {i}\r\n" for i in range(LIMIT_REQUEST_FIELDS + 1)]
    _assert_index_error(
        raw_exchange(address, _request("/healthz", *many)), 431, "HEADERS_TOO_LARGE"
    )
    big = f"Cookie: {'c' * LIMIT_REQUEST_FIELD_SIZE}\r\n"
    _assert_index_error(raw_exchange(address, _request("/healthz", big)), 431, "HEADERS_TOO_LARGE")
    size = LIMIT_REQUEST_FIELD_SIZE // 2
    parts = [f"X-Part-{i}: {'p' * size}\r\n" for i in range(LIMIT_REQUEST_HEAD // size + 1)]
    _assert_index_error(
        raw_exchange(address, _request("/healthz", *parts)), 431, "HEADERS_TOO_LARGE"
    )


def test_a_docker_token_request_with_many_scopes_fits(served_index, registry):
    """docker encodes each scope with Go's url.QueryEscape and repeats ``scope=``."""
    scopes = [f"repository:acme-platform/service-{i:03d}-backend:pull" for i in range(90)]
    query = urlencode(
        [
            ("account", "alice"),
            ("client_id", "docker"),
            ("offline_token", "true"),
            ("service", REGISTRY),
            *(("scope", s) for s in scopes),
        ]
    )
    target = f"/v2/token?{query}"
    assert 4096 < len(f"GET {target} HTTP/1.1") <= LIMIT_REQUEST_LINE  # over gunicorn's default
    response = raw_exchange(_address(served_index().url), _request(target))
    assert response.status == 200, response
    assert response.json()["token"]


@pytest.mark.parametrize("extra", [{}, {"INDEX_HTTP_HEADER_TIMEOUT": "1"}], ids=["", "timeout"])
def test_malformed_and_unfinished_heads_get_the_json_error_shape(served_index, extra):
    address = _address(served_index(**extra).url)
    if extra:
        response = raw_exchange(address, b"GET /healthz HTTP/1.1\r\nHost: ind", timeout=15)
        _assert_index_error(response, 408, "REQUEST_TIMEOUT")
        return
    for head in (
        b"GET /healthz HTTP/1.1\r\nHost: index.test\r\nno colon here\r\n\r\n",
        b"GET /healthz HTTP/1.1\nHost: index.test\n\n",
        b"G@T /healthz HTTP/1.1\r\nHost: index.test\r\n\r\n",
        b"GET /healthz HTTP/9.9\r\nHost: index.test\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ):
        _assert_index_error(raw_exchange(address, head), 400, "BAD_REQUEST")


def test_serve_creates_no_control_socket(db_url, tmp_path):
    """gunicorn >= 25 would create ``$HOME/.gunicorn/gunicorn.ctl``; ``serve`` turns it off."""
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    env = {
        **processes.base_env(),
        "HOME": str(home),
        "INDEX_DATABASE_URL": db_url,
        "INDEX_SECRET_KEY": SECRET_KEY,
        "INDEX_LOG_FORMAT": "text",
        "INDEX_DELETION_REDRIVE_INTERVAL": "0",
        "PYTHONPATH": _pythonpath(),
    }
    serve = [
        sys.executable,
        "-c",
        "import sys; from wharf_index.cli import main; sys.exit(main(sys.argv[1:]))",
        "serve",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        "2",
    ]
    with (tmp_path / "serve.log").open("wb") as log:
        proc = processes.spawn(serve, env=env, log=log)
    try:

        def healthy() -> bool:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            return timed_get(f"http://127.0.0.1:{port}/healthz")[1] == 200

        assert processes.wait_until(healthy, timeout=30, interval=0.2)
        assert list(home.iterdir()) == []
    finally:
        processes.terminate(proc, group=True)
