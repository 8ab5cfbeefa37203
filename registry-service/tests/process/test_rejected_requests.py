"""Requests gunicorn refuses before the app sees them still get the OCI error envelope.

A request line over the limit is 414, too many or too large header fields (or a head over
the total limit) 431, a malformed head 400, a head not finished within
REGISTRY_HTTP_HEADER_TIMEOUT 408: each with ``{"errors": [{"code", "message"}]}`` as JSON,
never gunicorn's HTML page. A long request line within the limit is served.
"""

from __future__ import annotations

import pytest
from wharf_protocol.errcode import parse_envelope
from wharf_protocol.serving import LIMIT_REQUEST_FIELD_SIZE, LIMIT_REQUEST_HEAD, LIMIT_REQUEST_LINE
from wharf_testing.misbehaving import RawResponse, raw_exchange

HOST = "Host: registry.test\r\n"


def _request(target: str, *headers: str, method: str = "GET") -> bytes:
    return (f"{method} {target} HTTP/1.1\r\n{HOST}" + "".join(headers) + "\r\n").encode()


def _assert_envelope(response: RawResponse, status: int) -> None:
    assert response.status == status, response
    assert response.headers["content-type"] == "application/json"
    assert response.headers["docker-distribution-api-version"] == "registry/2.0"
    errors = parse_envelope(response.body)
    assert len(errors) == 1 and errors[0].message


@pytest.fixture(scope="module")
def address(request):
    """One served registry for the module (cheap requests, no shared state)."""
    from wharf_testing.services import GunicornService

    env = {
        "REGISTRY_STORAGE": "inmemory",
        "REGISTRY_AUTH": "none",
        "REGISTRY_LOG_LEVEL": "WARNING",
        "REGISTRY_HTTP_HEADER_TIMEOUT": "2",
    }
    service = GunicornService(
        "wharf_registry.wsgi:app",
        env,
        "registry-rejects",
        workers=1,
        worker_class=None,
        extra_args=("--config", "python:wharf_registry.gunicorn_conf"),
    )
    service.start()
    yield service.host, service.port
    service.close()


def test_a_request_line_over_the_limit_is_414(address):
    target = "/v2/?q=" + "a" * (LIMIT_REQUEST_LINE + 10)
    _assert_envelope(raw_exchange(address, _request(target)), 414)


def test_a_long_request_line_within_the_limit_is_served(address):
    target = "/v2/?q=" + "a" * (LIMIT_REQUEST_LINE - 100)
    assert raw_exchange(address, _request(target)).status == 200


def test_too_many_header_fields_is_431(address):
    fields = [f"X-Field-{i}: {i}\r\n" for i in range(120)]
    _assert_envelope(raw_exchange(address, _request("/v2/", *fields)), 431)


def test_a_header_field_over_the_limit_is_431(address):
    field = f"X-Big: {'b' * (LIMIT_REQUEST_FIELD_SIZE + 10)}\r\n"
    _assert_envelope(raw_exchange(address, _request("/v2/", field)), 431)


def test_a_head_over_the_total_limit_is_431(address):
    size = LIMIT_REQUEST_FIELD_SIZE // 2
    fields = [f"X-Part-{i}: {'p' * size}\r\n" for i in range(LIMIT_REQUEST_HEAD // size + 1)]
    _assert_envelope(raw_exchange(address, _request("/v2/", *fields)), 431)


@pytest.mark.parametrize(
    "head",
    [
        b"GET /v2/ HTTP/1.1\r\nHost: registry.test\r\nno colon here\r\n\r\n",
        b"GET /v2/ HTTP/1.1\nHost: registry.test\n\n",
        b"G@T /v2/ HTTP/1.1\r\nHost: registry.test\r\n\r\n",
        b"GET /v2/ HTTP/9.9\r\nHost: registry.test\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ],
    ids=["header-without-colon", "bare-lf", "bad-method", "bad-version", "tls-hello"],
)
def test_a_malformed_head_is_400(address, head):
    _assert_envelope(raw_exchange(address, head), 400)


def test_a_head_not_finished_in_time_is_408(address):
    response = raw_exchange(address, b"GET /v2/ HTTP/1.1\r\nHost: regi", timeout=15)
    _assert_envelope(response, 408)
