"""Helpers of the pull-through cache tests: pushing to a real upstream, counting its
requests, and an upstream that serves wrong bytes.

- :func:`push_image` pushes layers, a config and an OCI manifest to any registry over
  plain HTTP with ``requests`` (Basic credentials, or Docker's Bearer token flow when the
  registry challenges with it);
- :class:`CountingProxy` is a reverse proxy in front of an upstream counting each
  ``METHOD /path`` it forwards (bodies streamed), which the mirror is pointed at;
- :class:`FakeUpstream` answers fixed bodies per path: a blob whose bytes are not its
  digest's;
- :class:`SilentRelay` is a plain TCP relay to an upstream that can turn silent: it then
  accepts connections and never answers (a host that hangs), counting what it accepts.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from wharf_protocol import mediatypes

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Pusher:
    """Requests to one registry, answering a Basic or Bearer challenge with ``creds``."""

    def __init__(self, url: str, creds: tuple[str, str] | None = None) -> None:
        self.url, self.creds = url.rstrip("/"), creds
        self.session = requests.Session()
        self.session.trust_env = False
        self.auth: dict[str, str] = {}

    def request(self, method: str, path: str, **kw) -> requests.Response:
        url = path if path.startswith("http") else self.url + path
        extra = kw.pop("headers", {})
        response = self.session.request(method, url, headers={**extra, **self.auth}, **kw)
        if response.status_code != 401 or self.creds is None:
            return response
        challenge = response.headers.get("WWW-Authenticate", "")
        if challenge.lower().startswith("basic"):
            self.auth = {"Authorization": requests.auth._basic_auth_str(*self.creds)}
        else:
            params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
            scope = params.get("scope", "")
            answer = self.session.get(
                params["realm"],
                params={"service": params.get("service", ""), "scope": scope},
                auth=self.creds,
                timeout=10,
            )
            answer.raise_for_status()
            self.auth = {"Authorization": f"Bearer {answer.json()['token']}"}
        return self.session.request(method, url, headers={**extra, **self.auth}, **kw)

    def push_blob(self, name: str, data: bytes) -> str:
        digest = sha(data)
        started = self.request("POST", f"/v2/{name}/blobs/uploads/", timeout=30)
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        if not location.startswith("http"):
            location = self.url + location
        sep = "&" if "?" in location else "?"
        done = self.request(
            "PUT",
            f"{location}{sep}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=120,
        )
        assert done.status_code == 201, done.text
        return digest

    def push_image(
        self, name: str, tag: str, layers: list[bytes], config: bytes = b'{"os":"linux"}'
    ) -> tuple[str, bytes]:
        """Push ``layers`` and ``config``, then a manifest tagged ``tag``: (digest, body)."""
        doc = {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": {
                "mediaType": mediatypes.OCI_CONFIG,
                "digest": self.push_blob(name, config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": mediatypes.OCI_LAYER_GZIP,
                    "digest": self.push_blob(name, layer),
                    "size": len(layer),
                }
                for layer in layers
            ],
        }
        body = json.dumps(doc).encode()
        put = self.request(
            "PUT",
            f"/v2/{name}/manifests/{tag}",
            data=body,
            headers={"Content-Type": mediatypes.OCI_MANIFEST},
            timeout=30,
        )
        assert put.status_code == 201, put.text
        return sha(body), body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class CountingProxy:
    """A reverse proxy to ``target`` on 127.0.0.1 counting ``"METHOD /path"`` it forwards."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _forward(self) -> None:
                with proxy._lock:
                    proxy.counts[f"{self.command} {self.path.split('?', 1)[0]}"] += 1
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                headers.pop("Host", None)
                try:
                    upstream = requests.request(
                        self.command,
                        proxy.target + self.path,
                        headers=headers,
                        data=body,
                        stream=True,
                        allow_redirects=False,
                        timeout=30,
                    )
                except requests.RequestException:
                    self.send_error(502)
                    return
                with upstream:
                    data = None
                    if "Content-Length" not in upstream.headers and self.command != "HEAD":
                        data = upstream.raw.read()
                    self.send_response(upstream.status_code)
                    for key, value in upstream.headers.items():
                        if key.lower() not in HOP:
                            self.send_header(key, value)
                    if data is not None:
                        self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command == "HEAD":
                        return
                    if data is not None:
                        self.wfile.write(data)
                        return
                    while chunk := upstream.raw.read(1 << 20):
                        self.wfile.write(chunk)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def count(self, method: str, path: str) -> int:
        with self._lock:
            return self.counts[f"{method} {path}"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeUpstream:
    """A registry answering fixed ``(status, headers, body)`` per path, 404 otherwise."""

    def __init__(
        self, routes: dict[str, tuple[int, dict[str, str], bytes]], drip: float = 0.0
    ) -> None:
        self.routes = routes
        self.counts: Counter[str] = Counter()
        self.drip = drip  # seconds between 64 KiB pieces of a body (a slow upstream)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                fake.counts[f"{self.command} {path}"] += 1
                status, headers, body = fake.routes.get(path, (404, {}, b"{}"))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "GET":
                    return
                if not fake.drip:
                    self.wfile.write(body)
                    return
                for start in range(0, len(body), 1 << 16):
                    self.wfile.write(body[start : start + (1 << 16)])
                    self.wfile.flush()
                    time.sleep(fake.drip)

            do_HEAD = do_GET

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SilentRelay:
    """TCP on 127.0.0.1 relayed to ``target`` (``host:port``) while ``answering``; silent
    otherwise: connections are accepted (and counted in ``accepted``) but never read from
    nor answered, and held open until :meth:`close`."""

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self.target = (host, int(port))
        self.accepted = 0
        self._answering = True
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._relayed: list[socket.socket] = []  # client sides of the relayed connections
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)  # the accept loop checks for close() this often
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def silent(self) -> None:
        """Stop answering; relayed connections are closed (clients must connect again)."""
        with self._lock:
            self._answering = False
            relayed, self._relayed = self._relayed, []
        for conn in relayed:
            _shut(conn)

    def answer(self) -> None:
        with self._lock:
            self._answering = True

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self._sockets.append(conn)
                answering = self._answering
                if answering:
                    self._relayed.append(conn)
            if answering:
                threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn: socket.socket) -> None:
        try:
            far = socket.create_connection(self.target, timeout=10)
        except OSError:
            _shut(conn)
            return
        with self._lock:
            self._sockets.append(far)
        threading.Thread(target=_pump, args=(far, conn), daemon=True).start()
        _pump(conn, far)

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        self._thread.join(5)
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for conn in sockets:
            _shut(conn)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy ``source`` to ``sink`` until either ends, then close both."""
    try:
        while data := source.recv(1 << 16):
            sink.sendall(data)
    except OSError:
        pass
    _shut(source)
    _shut(sink)


def _shut(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()
