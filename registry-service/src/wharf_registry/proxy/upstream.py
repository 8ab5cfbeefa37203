"""An HTTP client for one upstream registry, signing in the way Docker clients do.

Any OCI Distribution registry: no auth; Basic (``WWW-Authenticate: Basic``: the request is
repeated with the credentials, which are then sent up front); or Bearer tokens (Docker's
token authentication specification: a ``401`` carries ``WWW-Authenticate: Bearer
realm=...,service=...,scope=...``; ``GET <realm>?service=&scope=`` with the Basic
credentials, if any, answers ``{"token"}`` or ``{"access_token"}`` and ``expires_in``
(60 s when absent, the specification's default); the request is repeated with
``Authorization: Bearer``). Tokens are cached per scope until 10 s before they expire, shared
by the threads of the process; each thread has its own connection pool.

Each attempt's outcome goes to the upstream's :class:`~.health.UpstreamHealth` (``health``):
no connection, a timeout or a 5xx (from the upstream or its token endpoint) is a failure;
any other answer is a success. A body that stalls after its head is not seen there.

Nothing here holds a body in memory: :meth:`UpstreamClient.get` returns the streaming
response for the caller to read and close. Credentials and tokens are never logged.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping

import requests

from ..proxy_config import Upstream
from .health import UpstreamHealth

logger = logging.getLogger(__name__)

TIMEOUT = (5.0, 30.0)  # connect, and each read
TOKEN_MARGIN = 10.0
DEFAULT_TOKEN_LIFETIME = 60.0
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]*))')


class UpstreamUnavailable(Exception):
    """The upstream could not be reached or answered with an error (not a plain 404)."""

    def __init__(self, upstream: Upstream, why: str) -> None:
        super().__init__(f"upstream {upstream.safe_url} unavailable: {why}")
        self.upstream = upstream


class UpstreamRateLimited(UpstreamUnavailable):
    """The upstream answered ``429 Too Many Requests`` (Docker Hub's pull limits): passed on
    to the client as ``429 TOOMANYREQUESTS`` with the upstream's ``Retry-After`` in seconds
    (60 when it gives none), unless a cached copy can be served instead."""

    def __init__(self, upstream: Upstream, retry_after: str | None) -> None:
        super().__init__(upstream, "answered 429 (too many requests)")
        self.retry_after = int(retry_after) if retry_after and retry_after.isdigit() else 60


class UpstreamClient:
    """Requests to one upstream, with its authentication handled."""

    def __init__(
        self,
        upstream: Upstream,
        timeout: tuple[float, float] = TIMEOUT,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstream = upstream
        self.timeout = timeout
        self.health = UpstreamHealth(upstream.safe_url, upstream.down_backoff, monotonic)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}  # scope -> (token, expires monotonic)
        self._basic = False  # the upstream asked for Basic: send it up front

    def get(
        self, path: str, *, method: str = "GET", headers: Mapping[str, str] | None = None
    ) -> requests.Response:
        """Send ``method path`` (``/v2/...``), signing in as the upstream asks.

        Returns the response (streamed: the caller closes it) whatever its status, after
        at most one sign-in. UpstreamUnavailable when the upstream cannot be reached or
        the token endpoint refuses.
        """
        scope = _scope_of(path)
        response = self._send(method, path, headers, self._authorization(scope))
        if response.status_code != 401:
            return response
        challenge = response.headers.get("WWW-Authenticate", "")
        response.close()
        scheme, params = _parse_challenge(challenge)
        if scheme == "basic" and self.upstream.username:
            self._basic = True
            return self._send(method, path, headers, self._basic_auth())
        if scheme == "bearer" and params.get("realm"):
            token = self._fetch_token(params, scope)
            return self._send(method, path, headers, {"Authorization": f"Bearer {token}"})
        return self._send(method, path, headers, {})  # unanswerable: the caller sees the 401

    # -- internals -----------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False  # never a proxy from the environment, nor .netrc
        return session

    def _send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None,
        auth: Mapping[str, str],
    ) -> requests.Response:
        try:
            response = self._session().request(
                method,
                self.upstream.url + path,
                headers={**(headers or {}), **auth},
                stream=True,
                timeout=self.timeout,
                allow_redirects=True,  # requests drops Authorization on another host
            )
        except requests.RequestException as exc:
            self.health.failed(type(exc).__name__)
            raise UpstreamUnavailable(self.upstream, type(exc).__name__) from None
        if response.status_code >= 500:
            self.health.failed(f"answered {response.status_code}")
        else:
            self.health.answered()
        return response

    def _authorization(self, scope: str) -> dict[str, str]:
        with self._lock:
            cached = self._tokens.get(scope)
        if cached is not None and cached[1] > time.monotonic():
            return {"Authorization": f"Bearer {cached[0]}"}
        if self._basic:
            return self._basic_auth()
        return {}

    def _basic_auth(self) -> dict[str, str]:
        basic = requests.auth._basic_auth_str(self.upstream.username, self.upstream.password)
        return {"Authorization": basic}

    def _fetch_token(self, params: dict[str, str], scope: str) -> str:
        query = {"service": params.get("service", "")}
        query["scope"] = params.get("scope") or scope
        auth = None
        if self.upstream.username:
            auth = (self.upstream.username, self.upstream.password or "")
        try:
            answer = self._session().get(
                params["realm"], params=query, auth=auth, timeout=self.timeout
            )
        except requests.RequestException as exc:
            why = f"token endpoint: {type(exc).__name__}"
            self.health.failed(why)
            raise UpstreamUnavailable(self.upstream, why) from None
        if answer.status_code != 200:
            why = f"token endpoint answered {answer.status_code}"
            if answer.status_code >= 500:
                self.health.failed(why)
            raise UpstreamUnavailable(self.upstream, why)
        try:
            body = answer.json()
            token = body.get("token") or body.get("access_token")
            lifetime = float(body.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
        except (ValueError, AttributeError, TypeError):
            token, lifetime = None, 0.0
        if not isinstance(token, str) or not token:
            raise UpstreamUnavailable(self.upstream, "token endpoint gave no token")
        with self._lock:
            self._tokens[scope] = (token, time.monotonic() + max(lifetime - TOKEN_MARGIN, 1.0))
            if len(self._tokens) > 1024:  # bounded: drop the oldest
                self._tokens.pop(next(iter(self._tokens)))
        return token


def _scope_of(path: str) -> str:
    """The token scope a ``/v2/<name>/...`` request needs (pull: the mirror only reads)."""
    parts = path.split("?", 1)[0].split("/")
    for marker in ("blobs", "manifests", "tags"):
        if marker in parts[2:]:
            name = "/".join(parts[2 : parts.index(marker, 2)])
            return f"repository:{name}:pull"
    return ""


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="...",service="..."`` -> ("bearer", {...}) (RFC 9110, 11.6.1)."""
    scheme, _, rest = header.strip().partition(" ")
    params = {m[1].lower(): m[2] if m[2] is not None else m[3] for m in _PARAM.finditer(rest)}
    return scheme.lower(), params
