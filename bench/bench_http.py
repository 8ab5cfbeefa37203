"""A small, fast HTTP/1.1 keep-alive client for the benchmark (raw sockets, no pooling magic).

Why not requests: at thousands of requests per second on loopback its per-request cost
(hooks, adapters, header objects) would make the client the bottleneck. This client sends a
prepared request line, parses just the status and headers, reads the body into a reused
buffer (or discards it) and keeps the connection. Request bodies stream from any iterable of
bytes, so a 1 GiB upload never sits in memory.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

BUFFER = 1 << 20
TIMEOUT = 120.0


class HttpError(RuntimeError):
    """The connection broke or the server spoke something unexpected."""


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    length: int = 0  # bytes of body received (also when discarded)
    digest: str | None = None  # "sha256:<hex>" of the body, when asked for (hash_body)


class Connection:
    """One keep-alive connection to ``host:port``; reconnects after ``Connection: close``.

    ``headers`` are sent with every request (e.g. ``Authorization``); a request's own
    headers override them.
    """

    def __init__(
        self, host: str, port: int, timeout: float = TIMEOUT, headers: dict[str, str] | None = None
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.headers = dict(headers or {})
        self.sock: socket.socket | None = None
        self.pending = b""
        self.scratch = bytearray(BUFFER)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.pending = b""

    def _connect(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.sock

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes | Iterable[bytes] | None = None,
        length: int | None = None,
        keep_body: bool = True,
        hash_body: bool = False,
    ) -> Response:
        """Send one request and read the whole response; ``body`` may be an iterable.
        ``hash_body``: SHA-256 the response body as it arrives (as pulling clients do)."""
        sock = self._connect()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if isinstance(body, bytes):
            length = len(body)
        if body is not None or method in ("PUT", "POST", "PATCH"):
            lines.append(f"Content-Length: {length or 0}")
        merged = self.headers | headers if headers else self.headers
        lines += [f"{k}: {v}" for k, v in merged.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        try:
            if isinstance(body, bytes):
                sock.sendall(head + body)
            else:
                sock.sendall(head)
                for chunk in body or ():
                    sock.sendall(chunk)
            return self._read_response(method, keep_body, hash_body)
        except (OSError, HttpError):
            self.close()
            raise

    def _read_head(self) -> bytes:
        while b"\r\n\r\n" not in self.pending:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise HttpError("connection closed before the response head")
            self.pending += chunk
        head, self.pending = self.pending.split(b"\r\n\r\n", 1)
        return head

    def _read_response(self, method: str, keep_body: bool, hash_body: bool = False) -> Response:
        head = self._read_head().decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        response = Response(status, headers)
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            pass
        elif "content-length" in headers:
            self._read_body(response, int(headers["content-length"]), keep_body, hash_body)
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            self._read_chunked(response, keep_body)
        else:
            raise HttpError(f"response without a length: {head[0]}")
        if headers.get("connection", "").lower() == "close":
            self.close()
        return response

    def _read_body(self, response: Response, size: int, keep: bool, hash_: bool = False) -> None:
        parts = []
        take = self.pending[:size]
        self.pending = self.pending[size:]
        received = len(take)
        hasher = hashlib.sha256(take) if hash_ else None
        if keep:
            parts.append(take)
        view = memoryview(self.scratch)
        while received < size:
            n = self.sock.recv_into(view, min(len(view), size - received))
            if n == 0:
                raise HttpError(f"body cut at {received} of {size} bytes")
            if keep:
                parts.append(bytes(view[:n]))
            if hasher is not None:
                hasher.update(view[:n])
            received += n
        response.length += received
        if hasher is not None:
            response.digest = "sha256:" + hasher.hexdigest()
        if keep:
            response.body += b"".join(parts)

    def _read_chunked(self, response: Response, keep: bool) -> None:
        while True:
            while b"\r\n" not in self.pending:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise HttpError("connection closed inside a chunked body")
                self.pending += chunk
            size_line, self.pending = self.pending.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            self._read_body(response, size + 2, keep)  # the chunk and its CRLF
            response.length -= 2
            if keep:
                response.body = response.body[:-2]
            if size == 0:
                return
