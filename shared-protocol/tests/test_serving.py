"""wharf_protocol.serving: head framing, pool choice, and the answers to refused requests.

The event loop itself is exercised with real gunicorn processes by each service's tests
(slow clients, refused requests); these tests pin the pure parts.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl

import pytest
from gunicorn.config import Config
from gunicorn.http import errors as ge
from wharf_protocol import serving
from wharf_protocol.serving import HeadTimeout, has_body, scan_head, worker_class

LINE, HEAD = 100, 1000


def scan(data: bytes, line: int = LINE, head: int = HEAD) -> int:
    return scan_head(bytearray(data), line, head)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GET / HTTP/1.1",
        b"GET / HTTP/1.1\r\nHost: a\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\r",
        b"\r\n",
    ],
)
def test_an_unfinished_head_needs_more(data):
    assert scan(data) == 0


def test_a_finished_head_is_measured_without_the_body_behind_it():
    head = b"PATCH /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
    assert scan(head) == len(head)
    assert scan(head + b"ab\ncd") == len(head)  # LF in the body is not a bare LF of the head


def test_one_empty_line_may_lead():
    head = b"\r\nGET / HTTP/1.1\r\n\r\n"
    assert scan(head) == len(head)


@pytest.mark.parametrize(
    "data", [b"GET / HTTP/1.1\nHost: a\n\n", b"GET / HTTP/1.1\r\nHost: a\n", b"\n"]
)
def test_a_bare_lf_is_refused_at_once(data):
    with pytest.raises(ge.InvalidHeader):
        scan(data)


def test_a_request_line_over_the_limit_is_refused_before_it_ends():
    with pytest.raises(ge.LimitRequestLine):
        scan(b"GET /" + b"a" * LINE)
    with pytest.raises(ge.LimitRequestLine):
        scan(b"GET /" + b"a" * LINE + b" HTTP/1.1\r\n\r\n")


def test_a_request_line_at_the_limit_may_still_end():
    line = b"GET /" + b"a" * (LINE - len(b"GET / HTTP/1.1")) + b" HTTP/1.1"
    assert len(line) == LINE
    assert scan(line + b"\r") == 0
    assert scan(line + b"\r\n\r\n") == LINE + 4


def test_no_line_limit_leaves_the_head_limit():
    assert scan(b"GET /" + b"a" * 500, line=0) == 0
    with pytest.raises(ge.LimitRequestHeaders):
        scan(b"GET /" + b"a" * HEAD, line=0)


def test_a_head_over_the_limit_is_refused_finished_or_not():
    fields = b"".join(b"X-%d: %s\r\n" % (i, b"v" * 50) for i in range(30))
    with pytest.raises(ge.LimitRequestHeaders):
        scan(b"GET / HTTP/1.1\r\n" + fields)
    with pytest.raises(ge.LimitRequestHeaders):
        scan(b"GET / HTTP/1.1\r\n" + fields + b"\r\n")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", False),
        (b"PUT / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", False),
        (b"PUT / HTTP/1.1\r\ncontent-length:000\r\n\r\n", False),
        (b"PUT / HTTP/1.1\r\nContent-Length: 12\r\n\r\n", True),
        (b"PATCH / HTTP/1.1\r\nCONTENT-LENGTH:\t007\r\n\r\n", True),
        (b"PATCH / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", True),
        (b"GET /Content-Length:5 HTTP/1.1\r\nX-Content-Length: 5\r\n\r\n", False),
    ],
)
def test_the_body_pool_takes_requests_that_announce_a_body(head, expected):
    assert has_body(head) is expected


@pytest.fixture
def worker(tmp_path):
    cls = worker_class(
        lambda status, message: {"error": {"code": status, "message": message}},
        header_timeout=7,
        io_timeout=9,
        error_headers={"X-Service": "test"},
    )
    cfg = Config()
    cfg.set("limit_request_line", 8190)
    cfg.set("worker_tmp_dir", str(tmp_path))
    made = cls(0, os.getpid(), [], None, 30, cfg, logging.getLogger("test.serving"))
    yield made
    made.tmp.close()


def test_worker_class_carries_its_parameters(worker):
    assert isinstance(worker, serving.HeadFirstWorker)
    assert (worker.header_timeout, worker.io_timeout) == (7.0, 9.0)
    assert worker.limit_line == 8190 and worker.frames_heads


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (ge.LimitRequestLine(9000, 8190), 414),
        (ge.LimitRequestHeaders("limit request headers fields"), 431),
        (HeadTimeout(), 408),
        (ge.InvalidRequestLine("GET /secret?token=abc"), 400),
        (ge.InvalidRequestMethod("G@T"), 400),
        (ge.InvalidHTTPVersion("HTTP/9.9"), 400),
        (ge.InvalidHeader("X-Token: abc"), 400),
        (ge.InvalidChunkSize(b"zz"), 400),
        (ge.ExpectationFailed("magic"), 417),
        (ge.UnsupportedTransferCoding("gzip2"), 501),
        (ge.ForbiddenProxyRequest("10.0.0.1"), 403),
        (ge.InvalidResponseHeader("X-Bad"), 500),
        (ssl.SSLError(1, "bad record"), 403),
        (RuntimeError("boom"), 500),
    ],
)
def test_refusals_get_their_status_and_echo_no_input(worker, exc, status):
    got, reason, message = worker.describe(exc)
    assert got == status and reason and message
    assert "abc" not in message and "secret" not in message and "boom" not in message


def test_the_error_response_is_the_services_json(worker):
    data = worker.error_response(431, "Request Header Fields Too Large", "too large")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 431 Request Header Fields Too Large"
    assert {
        "Content-Type: application/json",
        "Connection: close",
        "X-Service: test",
        f"Content-Length: {len(body)}",
    } <= set(lines[1:])
    assert json.loads(body) == {"error": {"code": 431, "message": "too large"}}


@pytest.mark.parametrize("blocking", [True, False])
def test_handle_error_writes_the_answer(worker, blocking):
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.setblocking(blocking)
        worker.handle_error(None, ours, ("127.0.0.1", 1234), ge.LimitRequestLine(9000, 8190))
        assert theirs.recv(65536).startswith(b"HTTP/1.1 414 URI Too Long\r\n")


def test_handle_error_survives_a_gone_client(worker):
    ours, theirs = socket.socketpair()
    theirs.close()
    with ours:
        worker.handle_error(None, ours, None, ge.InvalidRequestMethod("X"))  # no exception


def test_tls_keeps_heads_framed_in_the_event_loop(tmp_path):
    """certfile/keyfile (tls_config) switch gunicorn's TLS on; heads stay the loop's."""
    from wharf_protocol import devtls
    from wharf_protocol.tls import ServerTLS

    _, server, _ = devtls.ensure(str(tmp_path / "tls"))
    certfile, keyfile, hook = serving.tls_config(ServerTLS(server.certificate, server.key))
    cfg = Config()
    cfg.set("certfile", certfile)
    cfg.set("keyfile", keyfile)
    cfg.set("ssl_context", hook)
    cfg.set("worker_tmp_dir", str(tmp_path))
    made = worker_class(lambda s, m: {})(0, os.getpid(), [], None, 30, cfg, logging.getLogger("t"))
    try:
        assert cfg.is_ssl and made.frames_heads
        context = hook(cfg, lambda: None)
        assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    finally:
        made.tmp.close()
    assert serving.tls_config(None)[:2] == (None, None)
    assert serving.tls_config(None)[2](cfg, lambda: "gunicorn's default") == "gunicorn's default"
