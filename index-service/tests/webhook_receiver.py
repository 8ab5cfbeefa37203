"""A real HTTP receiver for webhook tests, on 127.0.0.1 in the test process.

``Receiver(secret)`` serves POSTs in threads (``http.server``), checks each with
services/webhook_signing.py ``verify`` (the way the README tells receivers to) and keeps
what arrived in ``received``; ``connections`` counts accepted TCP connections (so a test
can tell that nothing connected at all). Behaviour, changeable while it runs: ``status``,
``location`` (a Location header), ``body``, ``drip`` (answer one byte every ``drip``
seconds), ``hold`` (an Event each request waits for before answering; ``held`` is set
when a request is waiting). ``stop()`` closes the port; ``start()`` again reopens the same
one (a receiver that was down and is back). ``tls``: an SSLContext to serve HTTPS with.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from wharf_index.services import webhook_signing


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    problem: str | None  # why verify() refused it; None: valid

    @property
    def delivery_id(self) -> str:
        return self.headers["x-wharf-delivery"]


class Receiver:
    def __init__(self, secret: str = "", port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.secret = secret
        self.port = port
        self.tls = tls
        self.status = 200
        self.location: str | None = None
        self.body = b"ok"
        self.drip: float | None = None
        self.hold: threading.Event | None = None
        self.held = threading.Event()
        self.received: list[Received] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> Receiver:
        receiver = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                with receiver._lock:
                    receiver.connections += 1
                return True

        self._server = Server(("127.0.0.1", self.port), _handler(self))
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def record(self, item: Received) -> None:
        with self._lock:
            self.received.append(item)

    def ids(self) -> list[str]:
        with self._lock:
            return [item.delivery_id for item in self.received]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Poll until ``count`` requests arrived (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise AssertionError(f"{len(self.received)} of {count} requests within {timeout} s")


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                webhook_signing.verify(receiver.secret, self.headers, body, time.time())
                problem = None
            except webhook_signing.SignatureInvalid as exc:
                problem = str(exc)
            headers = {name.lower(): value for name, value in self.headers.items()}
            receiver.record(Received(self.path, headers, body, problem))
            if receiver.hold is not None:
                receiver.held.set()
                receiver.hold.wait(60)
            try:
                self._answer()
            except OSError:
                pass  # the sender gave up (a timeout, a killed worker)

        def _answer(self) -> None:
            head = f"HTTP/1.0 {receiver.status} X\r\nContent-Length: {len(receiver.body)}\r\n"
            if receiver.location:
                head += f"Location: {receiver.location}\r\n"
            raw = head.encode() + b"\r\n" + receiver.body
            if receiver.drip is None:
                self.wfile.write(raw)
                return
            for byte in raw:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(receiver.drip)

    return Handler
