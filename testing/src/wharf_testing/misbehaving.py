"""Misbehaving HTTP/1.1 clients for process tests: connections that hold a server's resources.

:class:`HeldConnections` opens one TCP connection per prefix, sends the prefix (a request
head cut short, or a whole head and the start of a body) and keeps every connection open
until :meth:`~HeldConnections.close`; with ``trickle`` a background thread sends those
bytes on every connection each ``interval`` seconds, so the head never ends (slowloris);
with ``wrap`` each connection first goes through it (a TLS handshake, see
:func:`stalled_tls`).
:func:`timed_get` measures one GET on a fresh connection while they are held;
:func:`raw_exchange` sends bytes no well-behaved client would (a malformed or oversized
request head) and reads the answer.
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import requests


class HeldConnections:
    """``len(prefixes)`` connections to ``address``, each sent its prefix, then held.

    Use as a context manager (or call :meth:`close`): every socket is closed and the
    trickling thread stopped on exit. Connections the server closes are simply dropped.
    """

    def __init__(
        self,
        address: tuple[str, int],
        prefixes: Sequence[bytes],
        *,
        trickle: bytes = b"",
        interval: float = 0.5,
        timeout: float = 10.0,
        wrap: Callable[[socket.socket], socket.socket] | None = None,
    ) -> None:
        self.address, self.trickle, self.interval = address, trickle, interval
        self.timeout = timeout
        self.sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            for prefix in prefixes:
                sock = socket.create_connection(address, timeout=timeout)
                self.sockets.append(sock)
                if wrap is not None:
                    self.sockets[-1] = sock = wrap(sock)
                if prefix:
                    sock.sendall(prefix)
        except BaseException:
            self.close()
            raise
        if trickle:
            self._thread = threading.Thread(
                target=self._trickle, daemon=True, name="held-connections-trickle"
            )
            self._thread.start()

    def __enter__(self) -> HeldConnections:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open_count(self) -> int:
        """How many connections the server has not closed; reads (and drops) what it sent."""
        return sum(self._still_open(sock) for sock in list(self.sockets))

    def _still_open(self, sock: socket.socket) -> bool:
        try:
            sock.setblocking(False)
            while sock.recv(65536):
                pass
            return False  # end of stream: the server closed it
        except (BlockingIOError, ssl.SSLWantReadError):
            return True  # nothing (more) to read: still open
        except OSError:
            return False
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(self.timeout)

    def close(self) -> None:
        """Stop trickling and close every connection."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self.sockets = []

    def _trickle(self) -> None:
        while not self._stop.wait(self.interval):
            for sock in list(self.sockets):
                try:
                    sock.send(self.trickle, socket.MSG_DONTWAIT)
                except OSError:
                    continue  # closed by the server, or its buffer is full: fine either way


def slow_heads(
    address: tuple[str, int], count: int, *, path: str = "/healthz", interval: float = 0.5
) -> HeldConnections:
    """``count`` connections sending ``GET path`` whose head never ends: one more byte of a
    header value every ``interval`` seconds."""
    host = f"{address[0]}:{address[1]}"
    prefix = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Slow: ".encode()
    return HeldConnections(address, [prefix] * count, trickle=b"a", interval=interval)


def stalled_tls(
    address: tuple[str, int], count: int, *, cafile: str, path: str = "/healthz"
) -> tuple[HeldConnections, HeldConnections, HeldConnections]:
    """Three sets of ``count`` connections to a TLS server, each holding it differently:
    TCP connected but no handshake begun; the start of a ClientHello only; a finished
    handshake (verified against ``cafile``) and a request head cut short."""
    context = ssl.create_default_context(cafile=cafile)
    host = f"{address[0]}:{address[1]}"

    def handshake(sock: socket.socket) -> socket.socket:
        return context.wrap_socket(sock, server_hostname=address[0])

    head = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Slow: ".encode()
    held = []
    try:
        held.append(HeldConnections(address, [b""] * count))
        held.append(HeldConnections(address, [b"\x16\x03\x01\x02\x00\x01"] * count))
        held.append(HeldConnections(address, [head] * count, wrap=handshake))
    except BaseException:
        for connections in held:
            connections.close()
        raise
    return held[0], held[1], held[2]


def stalled_bodies(
    address: tuple[str, int],
    targets: Sequence[tuple[str, str]],
    *,
    length: int = 1 << 20,
    sent: int = 16,
    headers: dict[str, str] | None = None,
) -> HeldConnections:
    """One connection per ``(method, target)``: a complete head announcing ``length`` body
    bytes, ``sent`` of them, then nothing more."""
    host = f"{address[0]}:{address[1]}"
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    prefixes = [
        (
            f"{method} {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\n{extra}\r\n"
        ).encode()
        + b"x" * sent
        for method, target in targets
    ]
    return HeldConnections(address, prefixes)


def timed_get(url: str, timeout: float = 5.0, **kwargs) -> tuple[float, int | None]:
    """GET ``url`` on a fresh connection: ``(seconds, status)``; ``(inf, None)`` on failure."""
    start = time.monotonic()
    try:
        with requests.Session() as session:
            response = session.get(url, timeout=timeout, **kwargs)
    except requests.RequestException:
        return math.inf, None
    return time.monotonic() - start, response.status_code


@dataclass(frozen=True)
class RawResponse:
    """A response read off the wire: status, headers (names lower-cased), body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def raw_exchange(address: tuple[str, int], data: bytes, *, timeout: float = 10.0) -> RawResponse:
    """Send ``data`` as is on a new connection; read one response (``Content-Length`` framed,
    or up to the server's close). Raises ``TimeoutError`` if none comes within ``timeout``."""
    with socket.create_connection(address, timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # the server may answer and close before it all went
            sock.sendall(data)
        received = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in received or len(received) < _framed_length(received):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no complete response within {timeout} s: {received[:200]!r}")
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/"):
        raise AssertionError(f"not an HTTP response: {received[:200]!r}")
    headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    return RawResponse(
        int(lines[0].split()[1]), {k.strip().lower(): v.strip() for k, v in headers.items()}, body
    )


def _framed_length(received: bytes) -> float:
    """Head plus Content-Length bytes once the head is in; unbounded without a length."""
    head, sep, _ = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return len(head) + len(sep) + int(value)
    return math.inf if sep else 0
