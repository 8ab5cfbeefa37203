"""A tiny logging HTTP/1.1 proxy on 127.0.0.1: counts and times each round trip a client
makes through it (for the push-path breakdown of ``side_by_side.py``).

One thread per client connection, one upstream connection each (keep-alive both ways);
request and response bodies are relayed as they arrive (``Content-Length``, chunked, or
until close). A round trip's time runs from its request head read to its response's last
byte relayed, so it includes the request body's upload and the proxy's own hop (~0.1 ms).
``rewrite`` replaces bytes in ``WWW-Authenticate`` answers: pointing a registry's token
realm at a second proxy in front of the token server counts the token fetches too.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

BUFFER = 1 << 16


@dataclass(frozen=True)
class Trip:
    method: str
    path: str
    status: int
    seconds: float
    sent: int  # request body bytes


class _Stream:
    """A socket with a read buffer."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.pending = sock, b""

    def head(self) -> bytes | None:
        while b"\r\n\r\n" not in self.pending:
            if self.pending[:1] == b"\x16":
                return None  # a TLS handshake (a client trying https first): hang up
            chunk = self.sock.recv(BUFFER)
            if not chunk:
                return None
            self.pending += chunk
        head, self.pending = self.pending.split(b"\r\n\r\n", 1)
        return head + b"\r\n\r\n"

    def line(self) -> bytes:
        while b"\r\n" not in self.pending:
            chunk = self.sock.recv(BUFFER)
            if not chunk:
                raise ConnectionError("closed inside a chunked body")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\r\n", 1)
        return line + b"\r\n"

    def relay(self, size: int, out: socket.socket) -> None:
        """Copy exactly ``size`` bytes to ``out``."""
        take = self.pending[:size]
        self.pending = self.pending[size:]
        if take:
            out.sendall(take)
        left = size - len(take)
        while left > 0:
            chunk = self.sock.recv(min(BUFFER, left))
            if not chunk:
                raise ConnectionError("closed inside a body")
            out.sendall(chunk)
            left -= len(chunk)

    def relay_chunked(self, out: socket.socket) -> int:
        total = 0
        while True:
            line = self.line()
            out.sendall(line)
            size = int(line.split(b";")[0], 16)
            total += size
            if size == 0:
                while True:  # trailers, then the empty line
                    trailer = self.line()
                    out.sendall(trailer)
                    if trailer == b"\r\n":
                        return total
            self.relay(size + 2, out)

    def relay_to_close(self, out: socket.socket) -> None:
        if self.pending:
            out.sendall(self.pending)
            self.pending = b""
        while chunk := self.sock.recv(BUFFER):
            out.sendall(chunk)


def _headers(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            fields[name.strip().lower()] = value.strip()
    return lines[0], fields


class LoggingProxy:
    """``127.0.0.1:port`` -> ``127.0.0.1:upstream``; :attr:`trips` lists what went through."""

    def __init__(self, upstream: int, rewrite: tuple[bytes, bytes] | None = None) -> None:
        self.upstream, self.rewrite = upstream, rewrite
        self.trips: list[Trip] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def take(self) -> list[Trip]:
        """The trips so far; starts a new list."""
        with self.lock:
            trips, self.trips = self.trips, []
        return trips

    def close(self) -> None:
        self.closed = True
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream), timeout=600)
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        inbound, outbound = _Stream(client), _Stream(upstream)
        try:
            while self._round_trip(inbound, outbound, client, upstream):
                pass
        except (OSError, ValueError):
            pass
        finally:
            client.close()
            upstream.close()

    def _round_trip(
        self, inbound: _Stream, outbound: _Stream, client: socket.socket, upstream: socket.socket
    ) -> bool:
        head = inbound.head()
        if head is None:
            return False
        started = time.perf_counter()
        request_line, fields = _headers(head)
        method, path = request_line.split(" ")[:2]
        upstream.sendall(head)
        sent = 0
        if fields.get("transfer-encoding", "").lower() == "chunked":
            sent = inbound.relay_chunked(upstream)
        elif "content-length" in fields:
            sent = int(fields["content-length"])
            inbound.relay(sent, upstream)
        answer = outbound.head()
        if answer is None:
            raise ConnectionError("upstream closed")
        status_line, reply = _headers(answer)
        status = int(status_line.split(" ")[1])
        if self.rewrite and "www-authenticate" in reply:
            answer = answer.replace(*self.rewrite)
        client.sendall(answer)
        close = "close" in (reply.get("connection", "") + fields.get("connection", "")).lower()
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            pass
        elif reply.get("transfer-encoding", "").lower() == "chunked":
            outbound.relay_chunked(client)
        elif "content-length" in reply:
            outbound.relay(int(reply["content-length"]), client)
        else:
            outbound.relay_to_close(client)
            close = True
        with self.lock:
            self.trips.append(Trip(method, path, status, time.perf_counter() - started, sent))
        return not close
