"""An HTTP receiver for webhooks and registry notifications: a real server in the test process.

It records every request (method, path, headers, body, arrival time), answers with the
status the test sets, can hold requests open (to kill a sender mid-delivery) and can be
stopped and started again on the same port (a receiver that is down refuses connections).
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self):
        return json.loads(self.body)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def signature_valid(secret: str, received: Received, tolerance: float = 300) -> bool:
    """Check Wharf's webhook signature the way the Index README tells receivers to:
    ``X-Wharf-Signature: sha256=HMAC-SHA256(secret, "<X-Wharf-Timestamp>." + body)`` and a
    timestamp within ``tolerance`` seconds of now."""
    timestamp = received.header("X-Wharf-Timestamp")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256)
    return hmac.compare_digest(
        received.header("X-Wharf-Signature"), "sha256=" + expected.hexdigest()
    )


class Receiver:
    """``start()`` / ``stop()`` on a fixed ``host:port``; ``requests`` in arrival order."""

    def __init__(self, host: str, port: int = 0) -> None:
        self.host, self.port = host, port
        self.requests: list[Received] = []
        self.status = 200
        self.hold = threading.Event()  # set: requests wait until released
        self.release = threading.Event()
        self.arrived = threading.Condition()
        self._server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.arrived:
                    receiver.requests.append(Received("POST", self.path, headers, body))
                    receiver.arrived.notify_all()
                if receiver.hold.is_set():
                    receiver.release.wait(60)
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait(self, predicate, timeout: float = 30.0) -> list[Received]:
        """Wait until ``predicate(requests)`` is true; return the requests (AssertionError
        on timeout, with what arrived)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while not predicate(self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    summary = [
                        (r.path, r.header("X-Wharf-Event"), r.body[:200]) for r in self.requests
                    ]
                    raise AssertionError(f"receiver: timed out after {timeout}s; got {summary}")
                self.arrived.wait(min(left, 0.2))
            return list(self.requests)
