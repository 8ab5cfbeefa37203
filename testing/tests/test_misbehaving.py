"""wharf_testing.misbehaving: held, trickling and stalling connections; raw exchanges."""

from __future__ import annotations

import math
import os
import socket
import threading
import time

import pytest
from wharf_testing.misbehaving import (
    HeldConnections,
    raw_exchange,
    slow_heads,
    stalled_bodies,
    timed_get,
)
from wharf_testing.ports import free_port
from wharf_testing.services import GunicornService

HERE = os.path.dirname(os.path.abspath(__file__))


class Listener:
    """A loopback server that accepts every connection and records what each one sends."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = self.sock.getsockname()
        self.received: list[bytearray] = []
        self.peers: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.05)
        while self.sock.fileno() >= 0:
            try:
                peer, _ = self.sock.accept()
                peer.setblocking(False)
                self.peers.append(peer)
                self.received.append(bytearray())
            except TimeoutError:
                pass
            except OSError:
                return
            for peer, data in zip(list(self.peers), list(self.received), strict=True):
                try:
                    data += peer.recv(65536)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()
        self._thread.join(timeout=5)
        for peer in self.peers:
            peer.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def _wait(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_slow_heads_trickle_and_never_end_the_head(listener):
    with slow_heads(listener.address, 3, interval=0.05) as held:
        assert _wait(lambda: len(listener.received) == 3)
        assert _wait(lambda: all(data.endswith(b"aa") for data in listener.received))
        assert held.open_count() == 3
        assert all(
            b"\r\n\r\n" not in data and data.startswith(b"GET /healthz HTTP/1.1\r\n")
            for data in listener.received
        )
    assert held.sockets == []


def test_stalled_bodies_send_a_head_and_part_of_the_body(listener):
    with stalled_bodies(
        listener.address,
        [("PATCH", "/a"), ("POST", "/b")],
        length=100,
        sent=10,
        headers={"X-Test": "1"},
    ):
        assert _wait(
            lambda: (
                len(listener.received) == 2
                and all(data.endswith(b"\r\n\r\n" + b"x" * 10) for data in listener.received)
            )
        )
    heads = sorted(bytes(data) for data in listener.received)
    assert heads[0].startswith(b"PATCH /a HTTP/1.1\r\n") and b"Content-Length: 100\r\n" in heads[0]
    assert b"X-Test: 1\r\n" in heads[1]


def test_open_count_sees_connections_the_server_closed(listener):
    with HeldConnections(listener.address, [b"", b""]) as held:
        assert _wait(lambda: len(listener.peers) == 2)
        listener.peers[0].close()
        assert _wait(lambda: held.open_count() == 1)


def test_raw_exchange_and_timed_get_against_gunicorn():
    service = GunicornService("tinyapp:create_app()", {}, "tiny-raw", cwd=HERE)
    try:
        service.start()
        address = (service.host, service.port)
        ok = raw_exchange(address, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert ok.status == 200 and ok.json() == {"status": "ok"}
        assert ok.headers["content-type"] == "application/json"
        bad = raw_exchange(address, b"GET /healthz HTTP/1.1\r\nno colon\r\n\r\n")
        assert bad.status == 400
        seconds, status = timed_get(service.url + "/healthz")
        assert status == 200 and seconds < 30
    finally:
        service.close()
    assert timed_get(f"http://127.0.0.1:{free_port()}/healthz", timeout=2) == (math.inf, None)


def test_the_worker_class_may_be_left_to_a_config():
    forced = GunicornService("app:app", {}, "x")
    left = GunicornService("app:app", {}, "y", worker_class=None, extra_args=("-c", "conf.py"))
    try:
        assert forced.argv()[forced.argv().index("--worker-class") + 1] == "gthread"
        assert "--worker-class" not in left.argv()
        assert left.argv()[-3:] == ["-c", "conf.py", "app:app"]
    finally:
        forced.close()
        left.close()
