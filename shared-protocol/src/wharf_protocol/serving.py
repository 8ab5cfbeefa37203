"""The gunicorn worker both services run: slow clients hold no thread, rejects speak JSON.

gunicorn's ``gthread`` worker gives every accepted connection to a pool thread, which then
blocks reading the request head, and a request keeps its thread while its body arrives.
N clients trickling their heads, or stalling their bodies, pin N threads and everything
else waits behind them (slowloris). :class:`HeadFirstWorker` keeps gthread's design (one
event loop accepting connections and holding idle keep-alive ones, a thread pool running
the WSGI app) and changes what a thread is handed:

- The request head is read in the event loop, without blocking, until its empty line
  (RFC 9112 section 2.1). Only a complete head reaches a thread, where gunicorn's own
  parser reads it from memory. A head not complete ``header_timeout`` seconds after the
  connection (or, kept alive, its next request) started is answered 408; a request line
  over ``limit_request_line`` 414 and a head over ``limit_request_head`` bytes 431, at once.
- Requests with a body (``Content-Length`` > 0 or ``Transfer-Encoding``) run on a second
  pool of ``threads`` threads: stalled uploads can hold only those, never the threads that
  serve health checks, pulls and token requests.
- Every blocking read and write of a request's socket is bounded by ``io_timeout``.
- Closing (half-close, then drain for at most 2 s / 64 KiB, RFC 9112 section 9.6) happens
  in the event loop without blocking it.
- Requests refused before the app sees them (the limits above, a malformed head) get the
  service's JSON error body, ``error_body(status, message)``, not gunicorn's HTML page.
- TLS (``certfile``/``keyfile``, see :func:`tls_config`): the handshake runs in the event
  loop too (``do_handshake_on_connect=False``, driven on readiness through
  ``SSLWantReadError``/``SSLWantWriteError``) and counts against ``header_timeout``, so a
  client that never finishes it holds no thread either. Bytes already decrypted inside
  the SSL object do not make the socket readable to the selector, so they are read out
  (``pending()``) before waiting, and a kept-alive connection with such bytes goes on at
  once. One SSL context per worker serves every connection.

The PROXY protocol, HTTP/2 and uwsgi configurations keep gthread's reading (with the JSON
errors and ``io_timeout``): their bytes cannot be framed here.

Only the services' gunicorn configurations import this module. It needs gunicorn (the
``serving`` extra) and builds on gthread's internals, hence the pinned major version.
"""

from __future__ import annotations

import json
import re
import selectors
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent import futures
from contextlib import suppress
from datetime import timedelta
from functools import partial
from typing import Any

from gunicorn import http
from gunicorn import sock as gsock
from gunicorn.http import errors as ge
from gunicorn.http.message import MAX_REQUEST_LINE, Request
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers.gthread import TConn, ThreadWorker

__all__ = [
    "DEFAULT_HEADER_TIMEOUT",
    "LIMIT_REQUEST_FIELDS",
    "LIMIT_REQUEST_FIELD_SIZE",
    "LIMIT_REQUEST_HEAD",
    "LIMIT_REQUEST_LINE",
    "HeadFirstWorker",
    "HeadTimeout",
    "has_body",
    "scan_head",
    "tls_config",
    "worker_class",
]

#: gunicorn's largest request line (its default is 4094): room for Docker's token requests,
#: which repeat ``scope=`` once per repository; nginx's default buffer is 8 KiB too.
LIMIT_REQUEST_LINE = MAX_REQUEST_LINE
LIMIT_REQUEST_FIELDS = 100
LIMIT_REQUEST_FIELD_SIZE = 8190
#: The whole head (request line and header fields): bounds what a connection may buffer.
LIMIT_REQUEST_HEAD = 64 * 1024
DEFAULT_HEADER_TIMEOUT = 20
LINGER_SECONDS = 2.0
LINGER_BYTES = 64 * 1024
RECV_SIZE = 64 * 1024

ErrorBody = Callable[[int, str], Mapping[str, Any]]

_BODY_RE = re.compile(
    rb"\r\n(?:content-length[ \t]*:[ \t]*0*[1-9]|transfer-encoding[ \t]*:)", re.IGNORECASE
)
_MALFORMED = (
    (ge.InvalidRequestMethod, "invalid request method"),
    (ge.InvalidHTTPVersion, "unsupported HTTP version"),
    (
        (ge.InvalidHeader, ge.InvalidHeaderName, ge.ObsoleteFolding, ge.InvalidSchemeHeaders),
        "malformed header field",
    ),
    (
        (ge.InvalidChunkSize, ge.ChunkMissingTerminator, ge.InvalidChunkExtension),
        "malformed chunked body",
    ),
    (ge.ParseException, "malformed request"),
)
_STATUSES = (
    (
        (ge.InvalidResponseHeader, ge.InvalidResponseHeaderName, ge.ConfigurationProblem),
        500,
        "Internal Server Error",
        "internal server error",
    ),
    (ge.ExpectationFailed, 417, "Expectation Failed", "unsupported expectation"),
    (ge.UnsupportedTransferCoding, 501, "Not Implemented", "unsupported transfer coding"),
    (ge.ForbiddenProxyRequest, 403, "Forbidden", "request forbidden"),
    (ssl.SSLError, 403, "Forbidden", "TLS error"),
)


class HeadTimeout(ge.ParseException):
    """The request head did not arrive within the header timeout (408)."""

    def __str__(self) -> str:
        return "request head not received in time"


def scan_head(buf: bytes | bytearray, limit_line: int, limit_head: int) -> int:
    """Return the size of the complete request head ``buf`` starts with, 0 if more is needed.

    Raises ``LimitRequestLine`` (request line over ``limit_line`` bytes; 0: no limit),
    ``LimitRequestHeaders`` (head over ``limit_head`` bytes) and ``InvalidHeader`` (a bare
    LF, which gunicorn refuses too: waiting for a CRLF after it would be waiting forever).
    """
    end = buf.find(b"\r\n\r\n")
    head = buf if end < 0 else buf[: end + 4]
    if head.count(b"\n") != head.count(b"\r\n"):
        raise ge.InvalidHeader("bare LF as line terminator")
    start = 2 if buf[:2] == b"\r\n" else 0  # RFC 9112 section 2.2: one empty line may lead
    eol = buf.find(b"\r\n", start)
    line = eol - start if eol >= 0 else len(buf) - start - 1  # a CR may await its LF
    if limit_line and line > limit_line:
        raise ge.LimitRequestLine(line, limit_line)
    if len(head) > limit_head:
        raise ge.LimitRequestHeaders(f"request head over {limit_head} bytes")
    return len(head) if end >= 0 else 0


def has_body(head: bytes | bytearray) -> bool:
    """Whether the head announces a body (``Content-Length`` > 0 or ``Transfer-Encoding``).

    Only picks the pool; gunicorn's parser still frames the request (and refuses a head
    whose framing fields are invalid).
    """
    return _BODY_RE.search(head) is not None


class _Conn(TConn):
    """gthread's connection plus the head being read and the pending deadline."""

    def __init__(self, cfg, sock, client, server, io_timeout: float | None) -> None:
        super().__init__(cfg, sock, client, server)
        self.io_timeout = io_timeout
        self.head = bytearray()
        self.timer: object | None = None  # the deadline entry in force, if any
        self.watched = False
        self.drained = 0

    def init(self) -> None:
        """Run in the thread before each request: bound its blocking socket I/O."""
        super().init()
        if self.io_timeout:
            self.sock.settimeout(self.io_timeout)


class HeadFirstWorker(ThreadWorker):
    """gthread, reading request heads in the event loop (see the module docstring).

    Configure with :func:`worker_class`; the class attributes below are its parameters.
    """

    error_body: ErrorBody = staticmethod(lambda status, message: {"message": message})
    error_headers: tuple[tuple[str, str], ...] = ()
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    io_timeout: float | None = None
    limit_request_head: int = LIMIT_REQUEST_HEAD

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cfg = self.cfg
        self.frames_heads = not (
            cfg.proxy_protocol != "off"
            or "h2" in cfg.http_protocols
            or getattr(cfg, "protocol", "http") != "http"
        )
        line = cfg.limit_request_line  # gunicorn: 0 is no limit, and never above its maximum
        self.limit_line = min(line, MAX_REQUEST_LINE) if line >= 0 else MAX_REQUEST_LINE
        self.head_timers: deque[tuple[float, object, _Conn]] = deque()
        self.linger_timers: deque[tuple[float, object, _Conn]] = deque()
        self.body_pool: futures.ThreadPoolExecutor | None = None
        self.ssl_context: ssl.SSLContext | None = None

    def init_process(self) -> None:
        if not self.frames_heads:
            self.log.warning(
                "PROXY protocol, HTTP/2 or uwsgi: request heads are read "
                "by threads, so slow clients can hold them"
            )
        elif self.cfg.is_ssl:  # once per worker (gunicorn would build one per connection)
            self.ssl_context = gsock.ssl_context(self.cfg)
        self.body_pool = futures.ThreadPoolExecutor(self.cfg.threads, thread_name_prefix="body")
        super().init_process()  # runs the event loop

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.body_pool.shutdown(wait=False)

    def handle_quit(self, sig, frame) -> None:
        if self.body_pool is not None:
            self.body_pool.shutdown(wait=False)
        super().handle_quit(sig, frame)

    def accept(self, listener) -> None:
        try:
            sock, client = listener.accept()
        except BlockingIOError:
            return
        except ConnectionAbortedError:
            return
        self.nr_conns += 1
        conn = _Conn(self.cfg, sock, client, listener.getsockname(), self.io_timeout)
        if self.ssl_context is None:
            self.enqueue_req(conn)
            return
        try:
            conn.sock = self.ssl_context.wrap_socket(
                sock,
                server_side=True,
                do_handshake_on_connect=False,
                suppress_ragged_eofs=self.cfg.suppress_ragged_eofs,
            )
        except OSError:  # the client is gone already
            self._close(conn)
            return
        deadline = time.monotonic() + self.header_timeout  # the handshake is part of the head
        self._watch(conn, self._handshake, self.head_timers, deadline)
        self._handshake(conn)

    def enqueue_req(self, conn: _Conn) -> None:
        """Start reading the next head of ``conn`` (new, kept alive, or with bytes left over)."""
        if not self.frames_heads:
            super().enqueue_req(conn)
            return
        if conn.sock.gettimeout() != 0:  # kept-alive connections already are non-blocking
            conn.sock.setblocking(False)
        conn.head = bytearray(conn.parser.unreader.take_buffered() if conn.parser else b"")
        deadline = time.monotonic() + self.header_timeout
        if not ((conn.head and self._advance(conn)) or self._read_head(conn)):
            self._watch(conn, self._read_head, self.head_timers, deadline)

    def finish_request(self, conn: _Conn, fs) -> None:
        """Keep-alive as gthread does; otherwise close lingering, off the thread."""
        if not self.frames_heads:
            super().finish_request(conn, fs)
            return
        try:
            keep = not fs.cancelled() and fs.result()
        except Exception:  # noqa: BLE001 - handle() failed: close the connection
            keep = False
        if keep and _ssl_pending(conn.sock):  # decrypted bytes the poller cannot see
            self.enqueue_req(conn)
        elif keep:
            super().finish_request(conn, fs)  # back to the poller, or on to the next head
        else:
            self._linger(conn)

    def murder_pending(self) -> None:
        """Called by the event loop about once a second: also expire heads and lingerers."""
        super().murder_pending()
        now = time.monotonic()
        self._expire(self.head_timers, now, self._head_expired)
        self._expire(self.linger_timers, now, self._close)
        if not self.alive:  # stopping: connections without a request started may go now
            for _, token, conn in list(self.head_timers):
                if conn.timer is token and not conn.head:
                    self._close(conn)

    def handle_error(self, req, client, addr, exc) -> None:
        """Answer a refused request with the service's JSON error body (gunicorn: HTML)."""
        addr = addr or ("", -1)
        status, reason, message = self.describe(exc)
        if status >= 500:
            self.log.exception("Error handling request %s", getattr(req, "uri", "(no URI)"))
        else:  # INFO: clients probing TLS on a plain port (skopeo, docker) do this all day
            self.log.info(
                "refused request from ip=%s: %s %s (%s)",
                addr[0],
                status,
                reason,
                type(exc).__name__,
            )
        data = self.error_response(status, reason, message)
        req = req if isinstance(req, Request) else getattr(exc, "req", None)
        if isinstance(req, Request):
            environ = default_environ(req, client, self.cfg)
            environ.update(REMOTE_ADDR=addr[0], REMOTE_PORT=str(addr[1]))
            resp = Response(req, client, self.cfg)
            resp.status, resp.response_length = f"{status} {reason}", len(data)
            self.log.access(resp, req, environ, timedelta(0))
        try:
            if client.gettimeout() == 0:  # in the event loop: never block it
                client.send(data)
            else:
                client.sendall(data)
        except OSError:
            self.log.debug("Failed to send error message.")

    def describe(self, exc: BaseException) -> tuple[int, str, str]:
        """Return ``(status, reason, message)`` for a refused request; no input is echoed."""
        cfg = self.cfg
        if isinstance(exc, ge.LimitRequestLine):
            return 414, "URI Too Long", f"request line over {self.limit_line} bytes"
        if isinstance(exc, ge.LimitRequestHeaders):
            return (
                431,
                "Request Header Fields Too Large",
                f"request header fields too large: at most {cfg.limit_request_fields} "
                f"fields of {cfg.limit_request_field_size} bytes, "
                f"{self.limit_request_head} bytes in all",
            )
        if isinstance(exc, HeadTimeout):
            return 408, "Request Timeout", f"request head not received in {self.header_timeout:g} s"
        for kinds, status, reason, message in _STATUSES:
            if isinstance(exc, kinds):
                return status, reason, message
        for kinds, message in _MALFORMED:
            if isinstance(exc, kinds):
                return 400, "Bad Request", message
        return 500, "Internal Server Error", "internal server error"

    def error_response(self, status: int, reason: str, message: str) -> bytes:
        """The whole response: status line, JSON headers, ``error_body(status, message)``."""
        body = json.dumps(self.error_body(status, message)).encode()
        lines = [
            f"HTTP/1.1 {status} {reason}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Connection: close",
            *(f"{name}: {value}" for name, value in self.error_headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    # -- the event loop's side -------------------------------------------------------------

    def _handshake(self, conn: _Conn, _fileobj: object = None) -> bool:
        """Drive the TLS handshake one step; when done, read the head. True: conn left."""
        try:
            conn.sock.do_handshake()
        except ssl.SSLWantReadError:
            self._want(conn, selectors.EVENT_READ, self._handshake)
            return False
        except ssl.SSLWantWriteError:
            self._want(conn, selectors.EVENT_WRITE, self._handshake)
            return False
        except (OSError, ValueError) as exc:  # no client certificate, plain HTTP, gone...
            gone = isinstance(exc, (ssl.SSLEOFError, ConnectionError))  # e.g. TCP probes
            (self.log.debug if gone else self.log.info)(
                "TLS handshake failed from ip=%s: %s",
                conn.client[0] if conn.client else "",
                getattr(exc, "reason", None) or type(exc).__name__,
            )
            self._close(conn)
            return True
        self._want(conn, selectors.EVENT_READ, self._read_head)
        return self._read_head(conn)

    def _want(self, conn: _Conn, events: int, callback) -> None:
        """Change what the (watched) connection waits for, keeping its deadline."""
        self.poller.modify(conn.sock, events, partial(callback, conn))

    def _read_head(self, conn: _Conn, _fileobj: object = None) -> bool:
        """Read what has arrived, then :meth:`_advance`; True when the connection left."""
        try:
            data = conn.sock.recv(RECV_SIZE)
            while data and (pending := _ssl_pending(conn.sock)):
                data += conn.sock.recv(pending)
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False
        except OSError:
            data = b""
        if not data:  # the client went away
            self._close(conn)
            return True
        conn.head += data
        return self._advance(conn)

    def _advance(self, conn: _Conn) -> bool:
        """Refuse, or hand a thread, the head when it is complete; True when it was."""
        try:
            size = scan_head(conn.head, self.limit_line, self.limit_request_head)
        except ge.ParseException as exc:
            self._refuse(conn, exc)
            return True
        if not size:
            return False
        self._unwatch(conn)
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.unread(bytes(conn.head))
        pool = self.body_pool if has_body(conn.head[:size]) else self.tpool
        conn.head, conn.data_ready = bytearray(), True
        future = pool.submit(self.handle, conn)
        future.add_done_callback(
            lambda fut: self.method_queue.defer(self.finish_request, conn, fut)
        )
        return True

    def _head_expired(self, conn: _Conn) -> None:
        if conn.head:
            self._refuse(conn, HeadTimeout())
        else:
            self._close(conn)  # nothing sent: nothing to answer

    def _refuse(self, conn: _Conn, exc: BaseException) -> None:
        self._unwatch(conn)
        self.handle_error(None, conn.sock, conn.client, exc)
        self._linger(conn)

    def _linger(self, conn: _Conn) -> None:
        """Half-close, then drain what the client still sends until it closes (bounded).

        Under TLS a close_notify goes first (RFC 8446 section 6.1), without waiting for the
        client's; what is drained after it is raw bytes."""
        self._unwatch(conn)
        try:
            conn.sock.setblocking(False)
            if isinstance(conn.sock, ssl.SSLSocket):
                with suppress(OSError, ValueError):  # sent; the client's answer is not awaited
                    conn.sock.unwrap()
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        conn.drained = 0
        self._watch(conn, self._drain, self.linger_timers, time.monotonic() + LINGER_SECONDS)

    def _drain(self, conn: _Conn, _fileobj: object = None) -> None:
        try:
            data = conn.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        conn.drained += len(data)
        if not data or conn.drained >= LINGER_BYTES:
            self._close(conn)

    def _close(self, conn: _Conn) -> None:
        self._unwatch(conn)
        self.nr_conns -= 1
        conn.close()

    def _watch(self, conn: _Conn, callback, timers: deque, deadline: float) -> None:
        conn.timer = token = object()
        timers.append((deadline, token, conn))
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(callback, conn))
        conn.watched = True

    def _unwatch(self, conn: _Conn) -> None:
        conn.timer = None
        if conn.watched:
            conn.watched = False
            with suppress(KeyError, ValueError, OSError):
                self.poller.unregister(conn.sock)

    @staticmethod
    def _expire(timers: deque, now: float, action: Callable[[_Conn], None]) -> None:
        while timers and timers[0][0] <= now:
            _, token, conn = timers.popleft()
            if conn.timer is token:
                action(conn)


def _ssl_pending(sock: socket.socket) -> int:
    """Bytes decrypted and buffered inside an SSL socket (0 for a plain one)."""
    return sock.pending() if isinstance(sock, ssl.SSLSocket) else 0


def tls_config(tls: Any | None) -> tuple[str | None, str | None, Callable]:
    """Return a gunicorn config's ``certfile``, ``keyfile`` and ``ssl_context`` hook for a
    :class:`wharf_protocol.tls.ServerTLS` (None: plain HTTP and gunicorn's default hook).

    gunicorn needs ``certfile``/``keyfile`` to switch TLS on (``is_ssl``) and checks them at
    start-up; the hook builds the context from ``tls`` (TLS >= 1.2, client CAs).
    """
    if tls is None:
        return None, None, lambda config, default_factory: default_factory()
    return tls.certificate, tls.key, lambda config, default_factory: tls.context()


def worker_class(
    error_body: ErrorBody,
    *,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    io_timeout: float | None = None,
    error_headers: Mapping[str, str] | None = None,
    limit_request_head: int = LIMIT_REQUEST_HEAD,
    name: str = "WharfWorker",
) -> type[HeadFirstWorker]:
    """Return a :class:`HeadFirstWorker` subclass for a gunicorn config's ``worker_class``.

    ``error_body(status, message)`` returns the JSON object of an error response (the
    service's error shape); ``error_headers`` are added to those responses.
    """
    return type(
        name,
        (HeadFirstWorker,),
        {
            "__module__": __name__,
            "error_body": staticmethod(error_body),
            "error_headers": tuple((error_headers or {}).items()),
            "header_timeout": float(header_timeout),
            "io_timeout": float(io_timeout) if io_timeout else None,
            "limit_request_head": int(limit_request_head),
        },
    )
