"""The webhook sender over HTTP: one bounded, address-checked POST (the WebhookSender port of
domain/webhook_delivery.py).

For each attempt (:meth:`WebhookHTTP.send`):

1. the URL's host is resolved once (``socket.getaddrinfo``, within the attempt's
   deadline); only addresses that
   domain/webhook_targets.py :func:`address_allowed` accepts (with
   ``INDEX_WEBHOOK_ALLOWED_NETWORKS``) are kept, and none left means the attempt fails
   with an error naming the refused addresses, without connecting anywhere;
2. the connection goes to one of those checked addresses itself (no second lookup that
   DNS could answer differently), ``INDEX_WEBHOOK_CONNECT_TIMEOUT`` per address tried; the
   request says ``Host: <name>`` and, over https, TLS checks the certificate against the
   name (SNI and hostname verification, the system's trust store: ``ssl``'s default
   context);
3. the whole attempt (connection, TLS, request, answer) has one deadline,
   ``INDEX_WEBHOOK_TIMEOUT``: each socket operation waits at most the time left, and a
   timer shuts the socket down at the deadline, so a receiver dripping its answer a byte at
   a time cannot hold the attempt longer;
4. the status and headers decide; at most :data:`RESPONSE_EXCERPT` bytes of the body are
   read (decoded as UTF-8, bad bytes replaced) and the connection is closed
   (``Connection: close``). A body still arriving at the deadline leaves the outcome as
   the status said;
5. 2xx is success; any other status a failure. A 3xx is "redirect not followed" unless
   ``INDEX_WEBHOOK_FOLLOW_REDIRECTS`` is N > 0: then up to N ``Location`` hops are
   followed, each POSTed the same body and headers (the signature covers the body, not
   the URL) under the same deadline, and each checked by steps 1-2 afresh.

Errors never carry the URL's path or query (webhook URLs often hold a token), only the
host and the address.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

from ..domain.webhook_delivery import RESPONSE_EXCERPT, SendOutcome
from ..domain.webhook_targets import Network, address_allowed

Resolver = Callable[..., list]
T = TypeVar("T")


class _Failed(Exception):
    """An attempt's failure, its text as the outcome's error."""

    def __init__(self, error: str, status_code: int | None = None) -> None:
        super().__init__(error)
        self.status_code = status_code


class _Deadline:
    """The attempt's deadline: :meth:`remaining` for socket timeouts, and a timer that
    shuts the watched socket down when it passes (a blocked read then returns)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            self.expired = True
            raise _Failed(self.timeout_text())
        return left

    def timeout_text(self) -> str:
        return f"no complete answer within {self.seconds:g} s (INDEX_WEBHOOK_TIMEOUT)"

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.expired and sock is not None:
                _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._sock is not None:
                _shutdown(self._sock)


def _shutdown(sock: socket.socket) -> None:
    try:  # the plain socket's shutdown: an SSLSocket's would unwrap it under its reader
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to ``host`` made to the already checked ``address``."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        address: str,
        tls: ssl.SSLContext | None,
        deadline: _Deadline,
        connect_timeout: float,
    ) -> None:
        super().__init__(host, port)
        self.default_port = 443 if tls is not None else 80  # Host: without a default port
        self._address, self._tls = address, tls
        self._deadline, self._connect_timeout = deadline, connect_timeout
        self.pinned: socket.socket | None = None

    def connect(self) -> None:
        deadline = self._deadline
        where = _endpoint(self._address, self.port)
        try:
            sock = socket.create_connection(
                (self._address, self.port), min(self._connect_timeout, deadline.remaining())
            )
        except TimeoutError:
            raise _Failed(f"connecting to {where} timed out") from None
        except ConnectionRefusedError:
            raise _Failed(f"connection refused by {where}") from None
        except OSError as exc:
            raise _Failed(f"cannot connect to {where}: {exc.strerror or exc}") from None
        deadline.watch(sock)
        sock.settimeout(deadline.remaining())
        if self._tls is not None:
            sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            sock.settimeout(deadline.remaining())
        self.sock = self.pinned = sock  # http.client drops .sock once the answer began


def _endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


class WebhookHTTP:
    """Send webhook deliveries (module docstring). Thread-safe: one per worker process.

    ``tls`` replaces the default TLS context (tests trust their own CA with it);
    ``resolve`` replaces ``socket.getaddrinfo`` (same signature)."""

    def __init__(
        self,
        *,
        allowed_networks: Sequence[Network] = (),
        connect_timeout: float = 5,
        timeout: float = 10,
        follow_redirects: int = 0,
        tls: ssl.SSLContext | None = None,
        resolve: Resolver = socket.getaddrinfo,
    ) -> None:
        self.allowed_networks = tuple(allowed_networks)
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.follow_redirects = follow_redirects
        self.tls = tls or ssl.create_default_context()
        self._resolve = resolve

    @classmethod
    def from_settings(cls, settings, **overrides) -> WebhookHTTP:
        values = {
            "allowed_networks": settings.webhook_allowed_networks,
            "connect_timeout": settings.webhook_connect_timeout,
            "timeout": settings.webhook_timeout,
            "follow_redirects": settings.webhook_follow_redirects,
            **overrides,
        }
        return cls(**values)

    def send(self, url: str, headers: Mapping[str, str], body: bytes) -> SendOutcome:
        started = time.monotonic()
        status, error, excerpt = None, "", ""
        try:
            with _Deadline(self.timeout) as deadline:
                status, excerpt = self._follow(url, headers, body, deadline)
        except _Failed as exc:
            status, error = exc.status_code, str(exc)
        elapsed = int((time.monotonic() - started) * 1000)
        return SendOutcome(status, elapsed, error, excerpt)

    def _follow(self, url, headers, body, deadline) -> tuple[int, str]:
        for hop in range(self.follow_redirects + 1):
            status, location, excerpt = self._post(url, headers, body, deadline)
            if not 300 <= status < 400:
                return status, excerpt
            if self.follow_redirects == 0:
                raise _Failed("redirect not followed (INDEX_WEBHOOK_FOLLOW_REDIRECTS)", status)
            if hop == self.follow_redirects:
                raise _Failed(f"more than {self.follow_redirects} redirects", status)
            if not location:
                raise _Failed("redirect without a Location", status)
            url = urljoin(url, location)
        raise AssertionError("unreachable")  # pragma: no cover

    def _post(self, url, headers, body, deadline) -> tuple[int, str | None, str]:
        scheme, host, port, target = _parse(url)
        addresses = self._allowed_addresses(host, port, deadline)
        tls = self.tls if scheme == "https" else None
        for index, address in enumerate(addresses):
            conn = _PinnedConnection(
                host,
                port,
                address=address,
                tls=tls,
                deadline=deadline,
                connect_timeout=self.connect_timeout,
            )
            try:
                try:
                    conn.connect()
                except _Failed:
                    if index + 1 < len(addresses) and not deadline.expired:
                        continue  # another checked address of the name
                    raise
                return self._exchange(conn, target, headers, body, deadline)
            except _Failed:
                raise
            except ssl.SSLCertVerificationError as exc:
                raise _Failed(f"TLS: {exc.verify_message or exc.reason}") from None
            except (OSError, http.client.HTTPException) as exc:
                if deadline.expired or isinstance(exc, TimeoutError):  # waits end at the deadline
                    raise _Failed(deadline.timeout_text()) from None
                if isinstance(exc, ssl.SSLError):
                    raise _Failed(f"TLS: {exc.reason or exc}") from None
                raise _Failed(f"no valid answer: {_describe(exc)}") from None
            finally:
                deadline.watch(None)
                conn.close()
                if conn.pinned is not None:
                    conn.pinned.close()
        raise AssertionError("unreachable")  # pragma: no cover

    def _exchange(self, conn, target, headers, body, deadline) -> tuple[int, str | None, str]:
        conn.request("POST", target, body=body, headers={**headers, "Connection": "close"})
        response = conn.getresponse()
        excerpt = b""
        try:
            while len(excerpt) < RESPONSE_EXCERPT:
                conn.pinned.settimeout(deadline.remaining())
                chunk = response.read1(RESPONSE_EXCERPT - len(excerpt))
                if not chunk:
                    break
                excerpt += chunk
        except (_Failed, OSError, http.client.HTTPException):
            pass  # the status decides; the excerpt is what arrived in time
        finally:
            response.close()  # the socket's last reference: the connection closes here
        text = excerpt.decode("utf-8", errors="replace")
        return response.status, response.getheader("Location"), text

    def _allowed_addresses(self, host: str, port: int, deadline: _Deadline) -> list[str]:
        """The host's addresses the address rule allows (module docstring, step 1)."""
        try:
            infos = _within(
                deadline.remaining(), self._resolve, host, port, type=socket.SOCK_STREAM
            )
        except TimeoutError:
            raise _Failed(f"resolving {host} took too long; {deadline.timeout_text()}") from None
        except (OSError, UnicodeError) as exc:
            raise _Failed(f"cannot resolve {host}: {_describe(exc)}") from None
        addresses = list(dict.fromkeys(info[4][0].split("%")[0] for info in infos))
        allowed = [a for a in addresses if address_allowed(a, self.allowed_networks)]
        if not allowed:
            raise _Failed(
                f"refused: {host} resolves to {', '.join(addresses) or 'nothing'}, not a"
                " globally routable address (INDEX_WEBHOOK_ALLOWED_NETWORKS may allow it)"
            )
        return allowed


def _within(timeout: float, call: Callable[..., T], *args, **kwargs) -> T:
    """``call(*args, **kwargs)`` in a daemon thread, waited for ``timeout`` seconds at most
    (TimeoutError then; the thread ends on its own). getaddrinfo has no timeout of its own:
    a resolver that does not answer must not outlast the attempt's deadline."""
    outcome: list = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append((True, call(*args, **kwargs)))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=run, name="wharf-webhooks-resolve", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def _parse(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _Failed("not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Failed("not an http or https URL with a host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), target


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
