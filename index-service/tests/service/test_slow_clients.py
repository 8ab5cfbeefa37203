"""Slow clients cannot starve the Index.

The Index runs as ``wharf-index serve`` runs it (its gunicorn configuration, default
workers and threads). 100 connections misbehave at once: each trickles its request head
one byte every half second, or sends a POST head and the start of its body and stalls.
While they are held, health checks, the OpenAPI document and anonymous token requests,
each on a fresh connection, must each answer within 1 s. A stalled body is dropped after
INDEX_HTTP_BODY_TIMEOUT. Over HTTPS the same holds for connections that never begin or
never finish their TLS handshake, and INDEX_HTTP_HEADER_TIMEOUT closes them all.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from wharf_testing.misbehaving import (
    HeldConnections,
    slow_heads,
    stalled_bodies,
    stalled_tls,
    timed_get,
)
from wharf_testing.tls import make_tls

from tests.service.conftest import REGISTRY

pytestmark = pytest.mark.db

COUNT = 100
BOUND = 1.0  # seconds, each request


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


def _urls(base: str) -> list[str]:
    return [
        f"{base}/healthz",
        f"{base}/api/v1/openapi.json",
        f"{base}/v2/token?service={REGISTRY}&scope=repository:alice/app:pull",
    ]


def _assert_served_quickly(urls: list[str], rounds: int = 3, **kwargs) -> None:
    """GET each URL ``rounds`` times on fresh connections: 200 within BOUND each time."""
    timings = [(url, *timed_get(url, **kwargs)) for _ in range(rounds) for url in urls]
    slow = [
        (url, seconds, status)
        for url, seconds, status in timings
        if status != 200 or seconds >= BOUND
    ]
    assert not slow, f"not served within {BOUND} s (url, seconds, status): {slow}"


def test_trickled_heads_do_not_starve_the_index(served_index, registry):
    index = served_index()
    urls = _urls(index.url)
    _assert_served_quickly(urls)  # warm: pools connected, documents built

    with slow_heads(_address(index.url), COUNT) as held:
        _assert_served_quickly(urls)
        assert held.open_count() == COUNT  # the attack was still on


def test_stalled_bodies_do_not_starve_the_index(served_index, registry):
    index = served_index()
    urls = _urls(index.url)
    _assert_served_quickly(urls)

    targets = [("POST", "/api/v1/session")] * COUNT
    with stalled_bodies(
        _address(index.url), targets, headers={"Content-Type": "application/json"}
    ) as held:
        _assert_served_quickly(urls)
        assert held.open_count() == COUNT


def test_a_stalled_body_is_dropped_after_the_body_timeout(served_index):
    index = served_index(INDEX_HTTP_BODY_TIMEOUT="2")
    with stalled_bodies(
        _address(index.url),
        [("POST", "/api/v1/session")],
        headers={"Content-Type": "application/json"},
    ) as held:
        deadline = time.monotonic() + 30
        while held.open_count() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert held.open_count() == 0, "the Index still waits for the stalled body"
        assert time.monotonic() < deadline


def test_idle_connections_are_closed_after_the_header_timeout(served_index):
    index = served_index(INDEX_HTTP_HEADER_TIMEOUT="1")
    with HeldConnections(_address(index.url), [b"", b"GET /healthz HTTP/1.1\r\n"]) as held:
        deadline = time.monotonic() + 20
        while held.open_count() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert held.open_count() == 0


def test_stalled_tls_handshakes_and_heads_do_not_starve_and_time_out(
    served_index, registry, tmp_path
):
    tls = make_tls(tmp_path / "tls", sans=("127.0.0.1",))
    index = served_index(tls=tls, INDEX_HTTP_HEADER_TIMEOUT="3")
    urls = _urls(index.url)
    _assert_served_quickly(urls, verify=tls.ca)

    silent, hello, heads = stalled_tls(_address(index.url), COUNT, cafile=tls.ca)
    with silent, hello, heads:
        _assert_served_quickly(urls, verify=tls.ca)
        assert [c.open_count() for c in (silent, hello, heads)] == [COUNT] * 3
        time.sleep(3 + 2.5)  # the header timeout, and the once-a-second sweep
        assert [c.open_count() for c in (silent, hello, heads)] == [0, 0, 0]
