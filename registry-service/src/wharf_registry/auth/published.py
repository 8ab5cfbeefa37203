"""The token server's published public keys: the only keys a token registry holds.

Two sources, either or both (distribution docs, "Token Authentication Implementation":
the registry trusts the token server's public keys and can never mint a token):

- ``REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE``: a PEM certificate bundle file, the reference
  registry's ``auth.token.rootcertbundle`` (:meth:`KeySet.from_pem_bundle`);
- ``REGISTRY_AUTH_TOKEN_JWKS``: a JWK Set (RFC 7517 section 5), a file or an http(s) URL
  (default ``<REGISTRY_INDEX_URL>/.well-known/jwks.json``).

Files are read once at start-up; an unreadable or invalid one stops start-up naming its
setting. A URL is fetched by :class:`FetchedKeys` when a token first needs it (a JWKS
server that is down at start-up does not stop the registry: the Index may start later),
then again when the keys are older than ``MAX_AGE`` (5 min) or when a token names a key
that is not in them (the token server rotated its key). Fetches are rate-limited to one
per ``MIN_INTERVAL`` (10 s) whatever triggers them, so that a flood of tokens naming
unknown keys cannot make the registry hammer the token server; a failed fetch keeps the
keys fetched before. A token whose key cannot be found while the last fetch failed is
refused with :class:`KeysUnavailable` (503 ``INDEX_UNAVAILABLE``, logged), not as forged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from wharf_protocol.keys import KeySet, KeysInvalid, PublicKey

__all__ = ["FetchedKeys", "KeysUnavailable", "PublishedKeys", "is_url"]

logger = logging.getLogger(__name__)

MAX_AGE = 300.0  # seconds before fetched keys are fetched again
MIN_INTERVAL = 10.0  # seconds between two fetches, at least
TIMEOUT = (3.05, 5.0)  # connect, read
MAX_BYTES = 1 << 20  # a JWK Set larger than this is refused


class KeysUnavailable(Exception):
    """The token's key may be in a JWK Set that cannot be fetched now."""


def is_url(value: str) -> bool:
    """Tell whether a ``REGISTRY_AUTH_TOKEN_JWKS`` value is a URL (else a file path)."""
    return value.startswith(("http://", "https://"))


class FetchedKeys:
    """A JWK Set fetched from ``url``, cached and refetched as the module doc says.

    Thread-safe; one thread fetches at a time while the others use the keys already held,
    or wait for the fetch when the key of their token is not among them. ``clock`` is
    monotonic seconds (tests move it).
    """

    def __init__(
        self,
        url: str,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_age: float = MAX_AGE,
        min_interval: float = MIN_INTERVAL,
        tls: Mapping[str, Any] | None = None,
    ) -> None:
        self.url = url
        self._tls = dict(tls or {})  # verify/cert for requests, passed on every fetch
        self.clock = clock
        self.max_age, self.min_interval = max_age, min_interval
        self.fetches = 0  # attempts, for tests and logs
        self._session = session or requests.Session()
        self._keys = KeySet()
        self._fetched_at: float | None = None  # last successful fetch
        self._tried_at: float | None = None  # last attempt
        self.failing = True  # the last attempt failed, or there was none yet
        self._lock = threading.Lock()

    def find(self, header: Mapping[str, Any]) -> PublicKey | None:
        """The token's key, fetching when due; KeysUnavailable if unknown while failing."""
        now = self.clock()
        if self._fetched_at is None or now - self._fetched_at >= self.max_age:
            self._refresh(now, wait=not self._keys)  # with keys held, others go on with them
        key = self._keys.find(header)
        if key is None:
            self._refresh(now, wait=True)  # an unknown key: the token server may have rotated
            key = self._keys.find(header)
        if key is None and self.failing:
            raise KeysUnavailable(f"the token keys cannot be fetched from {self.url}")
        return key

    def _refresh(self, now: float, wait: bool) -> None:
        """Fetch unless one was tried less than ``min_interval`` ago. While another thread
        fetches, return at once (``wait`` False) or once it is done (a token whose key is not
        held yet must not be refused while its key is on the way)."""
        if not self._lock.acquire(timeout=sum(TIMEOUT) + 1 if wait else 0):
            return
        try:
            if self._tried_at is not None and now - self._tried_at < self.min_interval:
                return
            self._tried_at = now
            self.fetches += 1
            try:
                keys = self._fetch()
            except (requests.RequestException, ValueError) as exc:
                self.failing = True
                held = (
                    f"keeping the {len(self._keys)} keys fetched before"
                    if self._keys
                    else "tokens are refused with 503 until it answers"
                )
                logger.error("cannot fetch the token keys from %s: %s; %s", self.url, exc, held)
                return
            if {k.kid for k in keys.keys} != {k.kid for k in self._keys.keys}:
                logger.info("token keys from %s: %s", self.url, [k.kid for k in keys.keys])
            self._keys, self._fetched_at, self.failing = keys, now, False
        finally:
            self._lock.release()

    def _fetch(self) -> KeySet:
        with self._session.get(self.url, timeout=TIMEOUT, stream=True, **self._tls) as response:
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            body = response.raw.read(MAX_BYTES + 1, decode_content=True)
        if len(body) > MAX_BYTES:
            raise ValueError(f"the JWK Set is larger than {MAX_BYTES} bytes")
        try:
            return KeySet.from_jwks(json.loads(body))
        except (KeysInvalid, ValueError) as exc:
            raise ValueError(f"not a usable JWK Set: {exc}") from None


class PublishedKeys:
    """Keys read from files at start-up, then a fetched JWK Set: what a verifier asks.

    Called with a token's JWS header (:class:`wharf_protocol.tokens.TokenVerifier`'s key
    finder); returns its :class:`PublicKey` or None, or raises KeysUnavailable.
    """

    def __init__(self, files: KeySet, fetched: FetchedKeys | None = None) -> None:
        self.files = files
        self.fetched = fetched

    def __call__(self, header: Mapping[str, Any]) -> PublicKey | None:
        key = self.files.find(header)
        if key is None and self.fetched is not None:
            key = self.fetched.find(header)
        return key

    def __repr__(self) -> str:
        url = self.fetched.url if self.fetched else None
        return f"PublishedKeys(files={self.files!r}, url={url!r})"
