"""A notification endpoint for tests: a real HTTP server on 127.0.0.1 in the test process.

``Receiver(port=None)`` reserves a port; :meth:`Receiver.up` serves it (again, after
:meth:`Receiver.down`), so a registry configured with ``url`` meets connection refused while
it is down. Every POST is recorded (path, headers, envelope); ``status`` is the answer.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from wharf_protocol.events import Event, load_envelope
from wharf_testing.ports import free_port


class Receiver:
    """Record every envelope POSTed to ``url``; answer ``status``."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/events"
        self.status = 202
        self.delay = 0.0  # seconds to wait before answering (a slow endpoint)
        self.posts: list[dict] = []  # {"path", "headers", "events"}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def up(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(receiver.delay)  # the slowness itself, not a synchronisation
                events = load_envelope(body, strict=True)
                with receiver._lock:
                    receiver.posts.append(
                        {"path": self.path, "headers": dict(self.headers), "events": events}
                    )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    @property
    def events(self) -> list[Event]:
        """Every event received, in order (duplicates included)."""
        with self._lock:
            return [e for post in self.posts for e in post["events"]]

    def wait_for(self, predicate, timeout: float = 20.0) -> list[Event]:
        """Poll until ``predicate(events)`` holds; return the events (AssertionError if not)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.events
            if predicate(events):
                return events
            time.sleep(0.05)
        raise AssertionError(f"{self.url}: condition not met; received {summary(self.events)}")


def summary(events: list[Event]) -> list[tuple[str, str, str]]:
    """(action, repository, tag or digest) of each event."""
    return [(e.action, e.target.repository, e.target.tag or e.target.digest) for e in events]


def endpoints_json(*endpoints: dict) -> str:
    """The REGISTRY_NOTIFICATIONS_ENDPOINTS value for ``endpoints``."""
    return json.dumps(list(endpoints))
