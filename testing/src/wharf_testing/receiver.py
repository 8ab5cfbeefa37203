"""A real HTTP receiver in the test process: it records what services send it.

For webhooks, registry notifications and anything else a service POSTs (or PUTs...) to a
URL it was given. ``Receiver(host="127.0.0.1", port=0, tls=None)``; ``start()`` binds
``host:port`` (port 0: the OS picks one, kept from then on) and serves every request in a
thread of its own (``http.server``); ``stop()`` closes the port (connections are refused)
and ``start()`` again reopens the same one: a receiver that was down and is back.

Each request becomes a :class:`Received` (method, path with query, headers with lower-case
names, body, arrival time on the monotonic clock), kept in arrival order: ``received`` is a
copy of the list taken under the lock. ``record(received)`` is the hook a test suite
overrides to keep more (a signature check, say) in the handler thread, when it arrives.

The answer is ``answer`` (an :class:`Answer`: status, extra headers such as ``Location``,
body, ``drip``: one byte every ``drip`` seconds), replaced whole while the receiver runs.
``hold()`` makes requests wait before answering until ``release()`` (or ``HOLD_LIMIT``
seconds); ``held`` is set once a request waits. ``connections`` counts accepted TCP
connections (with TLS: completed handshakes), so a test can tell nothing connected at all.
``wait(predicate, timeout)`` and ``wait_for(count, timeout)`` block until what arrived
satisfies them and fail with an AssertionError listing what did arrive.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOLD_LIMIT = 60.0  # seconds a held request waits at most for release()


@dataclass(frozen=True)
class Received:
    """One request as it arrived; ``headers`` names are lower case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it was read

    def header(self, name: str) -> str:
        """The value of header ``name`` (any case), "" when absent."""
        return self.headers.get(name.lower(), "")

    def json(self):
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    """What the receiver answers: ``status``, ``headers`` (besides Content-Length),
    ``body``; with ``drip``, the whole response is written one byte every ``drip`` s."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    drip: float | None = None

    def raw(self) -> bytes:
        reason = http.client.responses.get(self.status, "Unknown")
        lines = [f"HTTP/1.0 {self.status} {reason}", f"Content-Length: {len(self.body)}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


class Receiver:
    """Record every request to ``url``; answer with ``answer``."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.answer = Answer()
        self.held = threading.Event()
        self.connections = 0
        self._received: list[Received] = []
        self._arrived = threading.Condition()
        self._released = threading.Event()
        self._released.set()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """``http(s)://host:port`` (no path): known once started, or given a port."""
        if not self.port:
            raise RuntimeError("receiver: no port yet (start() it first, or give port=)")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def received(self) -> list[Received]:
        """Every request so far, in arrival order (a copy)."""
        with self._arrived:
            return list(self._received)

    def start(self) -> Receiver:
        receiver = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            address_family = socket.AF_INET6 if ":" in self.host else socket.AF_INET

            def verify_request(self, request, client_address) -> bool:
                with receiver._arrived:
                    receiver.connections += 1
                return True

        server = Server((self.host, self.port), _handler(self))
        if self.tls is not None:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the port (and let held requests answer); ``start()`` reopens it."""
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def hold(self) -> None:
        """From now on requests wait (after being recorded) until :meth:`release`."""
        self.held.clear()
        self._released.clear()

    def release(self) -> None:
        """Let held requests answer; new ones are answered at once again."""
        self._released.set()

    def record(self, received: Received) -> Received:
        """What to keep of a request that arrived (runs in its handler thread); a suite's
        subclass may return a richer record (a :class:`Received` subclass)."""
        return received

    def wait(self, predicate, timeout: float = 30.0) -> list[Received]:
        """Block until ``predicate(received)`` is true; return ``received``. AssertionError
        after ``timeout`` seconds, listing what arrived."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not predicate(list(self._received)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"receiver {self.url}: condition not met within {timeout} s; "
                        f"received {self.describe(self._received)}"
                    )
                self._arrived.wait(min(left, 0.2))
            return list(self._received)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Block until at least ``count`` requests arrived; return them all."""
        return self.wait(lambda got: len(got) >= count, timeout)

    def describe(self, received: list[Received]) -> list[tuple[str, str, bytes]]:
        """(method, path, start of body) of each request, for failure messages."""
        return [(item.method, item.path, item.body[:200]) for item in received]

    def _arrive(self, received: Received) -> None:
        kept = self.record(received)
        with self._arrived:
            self._received.append(kept)
            self._arrived.notify_all()
        if not self._released.is_set():
            self.held.set()
            self._released.wait(HOLD_LIMIT)


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            receiver._arrive(Received(self.command, self.path, headers, body, time.monotonic()))
            answer = receiver.answer
            try:
                if answer.drip is None:
                    self.wfile.write(answer.raw())
                    return
                for byte in answer.raw():
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(answer.drip)  # the slowness itself, not a synchronisation
            except OSError:
                pass  # the sender gave up (a timeout, a killed process)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any  # noqa: N815

    return Handler
