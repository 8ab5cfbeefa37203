"""The Registry's client for the Index's internal API (the only module doing network I/O).

Endpoints (Wharf's own; docs/architecture.md, "Processes and what they talk"), both
authenticated with HTTP Basic ``registry_name:credential`` (the credential the Index printed
when the registry was registered)::

    POST {base}/internal/v1/tokens/verify   {"token": "..."}
        200 {"claims": {...}}                          -> Claims
        422 {"error": {"code": "TOKEN_INVALID", "detail": {"reason": "expired"}}}
                                                       -> TokenRejected(reason)
    POST {base}/internal/v1/events          events envelope (EVENTS_MEDIA_TYPE)
        200/202                                        -> None
        400/422                                        -> EventsRejected (never retried)
        (an empty envelope is ``ping``: the Index answers and takes this registry's credential)
    POST {base}/internal/v1/catalog/pullable  {"token": "...", "names": [...]}
        200 {"names": [...]}                           -> the names the caller may pull
        422 TOKEN_INVALID                              -> TokenRejected(reason)
    any: 401/403 -> RegistryCredentialRejected; connection errors, timeouts, 500/502/503/504
    -> retried ``retries`` times with exponential backoff, then IndexUnavailable.

Retrying every call is safe: verification and the catalog question have no effect, and the
Index applies each event id once. The credential never appears in exception messages, reprs or logs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests

from . import jsondepth
from .errcode import parse_api_error
from .events import EVENTS_MEDIA_TYPE, Event, dump_envelope
from .tokens import Claims, TokenError

__all__ = [
    "EventsRejected",
    "IndexClient",
    "IndexClientError",
    "IndexUnavailable",
    "RegistryCredentialRejected",
    "TokenRejected",
]

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504})
VERIFY_PATH = "/internal/v1/tokens/verify"
EVENTS_PATH = "/internal/v1/events"
PULLABLE_PATH = "/internal/v1/catalog/pullable"


class IndexClientError(Exception):
    """Base of the errors raised by :class:`IndexClient`."""


class IndexUnavailable(IndexClientError):
    """The Index did not answer usefully (network, timeout, 5xx, unexpected reply)."""


class RegistryCredentialRejected(IndexClientError):
    """The Index refused this registry's name or credential (401/403)."""


class EventsRejected(IndexClientError):
    """The Index refused an events envelope as invalid (400/422); retrying will not help."""


class TokenRejected(TokenError, IndexClientError):
    """The Index says the token is not valid; ``reason`` is its machine word (e.g. expired)."""

    def __init__(self, reason: str, message: str = "") -> None:
        self.reason = reason
        super().__init__(message or f"token rejected: {reason}")


def _error_message(response: requests.Response) -> tuple[str, Any]:
    try:
        error = parse_api_error(response.content, response.status_code)
    except ValueError:
        return f"HTTP {response.status_code}", None
    return f"{error.code}: {error.message}", error.detail


def _refusals(response: requests.Response) -> list[tuple[str, str]]:
    """The ``refused`` list of an events answer as (id, reason) pairs; anything else: []."""
    try:
        body = jsondepth.loads(response.content) if response.content else {}
    except ValueError:
        return []
    refused = body.get("refused") if isinstance(body, dict) else None
    if not isinstance(refused, list):
        return []
    return [
        (str(item.get("id", "")), str(item.get("reason", "")))
        for item in refused
        if isinstance(item, dict)
    ]


class IndexClient:
    """Call the Index's internal API with timeouts and bounded, backed-off retries.

    ``timeout`` is requests' (connect, read) pair; ``retries`` the number of retries after
    the first attempt; the n-th retry waits ``backoff * 2 ** (n - 1)`` seconds; ``verify`` is
    requests' (True: system trust, or a CA bundle path) and ``cert`` an optional
    (certificate, key) pair for mutual TLS. Raises
    ValueError for an empty ``registry_name`` or ``credential`` or a negative ``retries``.
    """

    def __init__(
        self,
        base_url: str,
        registry_name: str,
        credential: str,
        timeout: tuple[float, float] = (3.05, 10.0),
        retries: int = 3,
        backoff: float = 0.2,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        verify: bool | str = True,
        cert: tuple[str, str] | None = None,
    ) -> None:
        if not registry_name or not credential:
            raise ValueError("registry_name and credential must be non-empty")
        if retries < 0:
            raise ValueError("retries must not be negative")
        self.base_url = base_url.rstrip("/")
        self.registry_name = registry_name
        self._auth = (registry_name, credential)
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self._session = session or requests.Session()
        self._sleep = sleep
        self._tls = {"verify": verify, "cert": cert}  # per call: session.verify loses to env

    def __repr__(self) -> str:
        return f"IndexClient({self.base_url!r}, registry_name={self.registry_name!r})"

    def close(self) -> None:
        """Close the underlying HTTP session."""
        self._session.close()

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _post(self, path: str, body: bytes, content_type: str) -> requests.Response:
        url = self.base_url + path
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._session.post(
                    url,
                    data=body,
                    headers={"Content-Type": content_type},
                    auth=self._auth,
                    timeout=self.timeout,
                    **self._tls,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = type(exc).__name__
            except requests.RequestException as exc:
                raise IndexUnavailable(f"POST {url}: {type(exc).__name__}") from None
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                problem = f"HTTP {response.status_code}"
            log.warning(
                "index call failed", extra={"url": url, "attempt": attempt + 1, "problem": problem}
            )
        raise IndexUnavailable(f"POST {url}: {problem} after {self.retries + 1} attempts")

    def _check_credential(self, response: requests.Response) -> None:
        if response.status_code in (401, 403):
            raise RegistryCredentialRejected(
                f"the Index refused registry {self.registry_name!r} (HTTP {response.status_code})"
            )

    def verify_token(self, token: str) -> Claims:
        """Ask the Index whether ``token`` is valid for this registry; return its claims.

        Raises :class:`TokenRejected` (with the Index's reason),
        :class:`RegistryCredentialRejected`, or :class:`IndexUnavailable` (after retries, or
        for an unexpected reply).
        """
        body = json.dumps({"token": token}).encode()
        response = self._post(VERIFY_PATH, body, "application/json")
        self._check_credential(response)
        if response.status_code in (400, 422):
            message, detail = _error_message(response)
            reason = detail.get("reason") if isinstance(detail, dict) else None
            raise TokenRejected(reason if isinstance(reason, str) else "invalid", message)
        if response.status_code != 200:
            raise IndexUnavailable(f"token verification answered HTTP {response.status_code}")
        try:
            return Claims.from_dict(jsondepth.loads(response.content)["claims"])
        except (ValueError, KeyError, TypeError, TokenError):
            raise IndexUnavailable("token verification answered an unexpected body") from None

    def pullable(self, token: str, names: Sequence[str]) -> list[str]:
        """Ask the Index which of ``names`` (repository names of this registry's catalog, at
        most 1000) the caller ``token`` stands for may pull; return them in their order.

        Raises :class:`TokenRejected`, :class:`RegistryCredentialRejected`, or
        :class:`IndexUnavailable` (after retries, or for an unexpected reply).
        """
        body = json.dumps({"token": token, "names": list(names)}).encode()
        response = self._post(PULLABLE_PATH, body, "application/json")
        self._check_credential(response)
        if response.status_code in (400, 422):
            message, detail = _error_message(response)
            reason = detail.get("reason") if isinstance(detail, dict) else None
            raise TokenRejected(reason if isinstance(reason, str) else "invalid", message)
        if response.status_code != 200:
            raise IndexUnavailable(f"catalog question answered HTTP {response.status_code}")
        try:
            found = jsondepth.loads(response.content)["names"]
        except (ValueError, KeyError, TypeError):
            found = None
        if not isinstance(found, list) or not all(isinstance(n, str) for n in found):
            raise IndexUnavailable("catalog question answered an unexpected body")
        asked = set(names)
        return [n for n in found if n in asked]

    def ping(self) -> None:
        """Check that the Index answers and accepts this registry's credential, with no effect.

        Posts an empty envelope (``{"events": []}``: nothing to apply). Raises
        :class:`RegistryCredentialRejected` or :class:`IndexUnavailable` (after retries, or
        for any answer but 200/202/204).
        """
        body = json.dumps({"events": []}).encode()
        response = self._post(EVENTS_PATH, body, EVENTS_MEDIA_TYPE)
        self._check_credential(response)
        if response.status_code not in (200, 202, 204):
            raise IndexUnavailable(f"events endpoint answered HTTP {response.status_code}")

    def post_events(self, events: Sequence[Event]) -> list[tuple[str, str]]:
        """Deliver ``events`` to the Index in one envelope; an empty sequence sends nothing.

        Return the events the Index acknowledged without applying them, as ``(event id,
        reason)`` pairs from the answer's ``refused`` list (an Index refuses, for example,
        events for namespaces the registry does not serve); they are delivered all the same
        and must not be sent again. An answer without that list (older Indexes, 202/204)
        refuses nothing.

        Raises :class:`EventsRejected` (400/422, not retried),
        :class:`RegistryCredentialRejected` or :class:`IndexUnavailable` (after retries, or for
        another status).
        """
        if not events:
            return []
        body = json.dumps(dump_envelope(events)).encode()
        response = self._post(EVENTS_PATH, body, EVENTS_MEDIA_TYPE)
        self._check_credential(response)
        if response.status_code in (400, 422):
            raise EventsRejected(_error_message(response)[0])
        if response.status_code not in (200, 202, 204):
            raise IndexUnavailable(f"events delivery answered HTTP {response.status_code}")
        return _refusals(response)
