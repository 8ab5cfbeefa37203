"""What a worker process knows about tokens it has seen: verified entries and refusals in a
bounded LRU shared by the worker's threads, and single flights (one verification per token at
a time, the other requests carrying it wait for its result).

Keys are the SHA-256 of the token (:func:`token_key`): the token itself is never stored.
Every value carries the instant it stops being usable (``valid_until``, the token's ``exp``
plus the verifier's leeway, the moment :class:`wharf_protocol.tokens.TokenVerifier` starts
refusing it as expired); :meth:`TokenCache.get` never returns a value at or after it, whatever
happened to the keys since, so a cached verification never outlives the token.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from wharf_protocol.lru import ExpiringLRU
from wharf_protocol.tokens import Claims

__all__ = [
    "CAPACITY",
    "Entry",
    "Flight",
    "FlightTimeout",
    "Flights",
    "Refusal",
    "TokenCache",
    "token_key",
]

CAPACITY = 10_000  # entries per worker process (REGISTRY_AUTH_TOKEN_CACHE_SIZE); ~1 KB each


def token_key(token: str) -> bytes:
    """The cache key of ``token``: its SHA-256 digest."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Entry:
    """A token that passed the local check (signature, ``iss``, ``aud``, ``exp``, ``nbf``).

    ``confirmed_until``: reuse without asking the Index until then (local mode: the token's
    end; remote mode: the confirmation time + TTL, 0 before the Index confirmed it).
    ``confirmed``: the Index confirmed it at least once (stale-if-error applies).
    ``deferrable``: in async mode a read may go ahead before the Index answers (False once a
    confirmation could not be obtained: from then on every request waits for one).
    """

    claims: Claims
    valid_until: float
    confirmed_until: float = 0.0
    confirmed: bool = False
    deferrable: bool = True


@dataclass(frozen=True)
class Refusal:
    """A token the Index refused (``reason``, e.g. ``revoked``): refused without asking again."""

    reason: str
    valid_until: float


class TokenCache(ExpiringLRU[bytes, Entry | Refusal]):
    """A bounded LRU of :class:`Entry` and :class:`Refusal` by :func:`token_key`; thread-safe
    (wharf_protocol.lru). ``capacity`` bounds both kinds together; the least recently used is
    evicted first; nothing is returned from its ``valid_until`` on."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        super().__init__(capacity, _valid_until)


def _valid_until(value: Entry | Refusal) -> float:
    return value.valid_until


class FlightTimeout(Exception):
    """A flight did not reach the awaited stage within the wait."""


class Flight:
    """One verification of one token under way: ``checked`` once the local check passed
    (``claims`` set), ``done`` once finished (claims, or the error it ended with)."""

    def __init__(self) -> None:
        self.claims: Claims | None = None
        self.error: Exception | None = None
        self._checked = threading.Event()
        self._done = threading.Event()

    def passed_local_check(self, claims: Claims) -> None:
        self.claims = claims
        self._checked.set()

    def finish(self, claims: Claims | None = None, error: Exception | None = None) -> None:
        if claims is not None:
            self.claims = claims
        self.error = error
        self._checked.set()
        self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def checked_claims(self, timeout: float) -> Claims:
        """Claims once the local check passed; the flight's error; FlightTimeout."""
        if not self._checked.wait(timeout):
            raise FlightTimeout
        if self.claims is None:
            raise _copy(self.error) if self.error else FlightTimeout
        return self.claims

    def result(self, timeout: float) -> Claims:
        """The final claims; the flight's error; FlightTimeout if not done within ``timeout``."""
        if not self._done.wait(timeout):
            raise FlightTimeout
        if self.error is not None:
            raise _copy(self.error)
        assert self.claims is not None  # noqa: S101 - finish() sets one or the other
        return self.claims


def _copy(error: Exception) -> Exception:
    """A new exception like ``error``: each waiter raises its own (a request annotates it)."""
    try:
        return type(error)(*error.args)
    except TypeError:
        return error


class Flights:
    """At most one :class:`Flight` per key; thread-safe. Flights live only while under way."""

    def __init__(self) -> None:
        self._flights: dict[bytes, Flight] = {}
        self._lock = threading.Lock()

    def join(self, key: bytes) -> tuple[Flight, bool]:
        """Return the flight for ``key`` and whether the caller leads it (started it now)."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None:
                return flight, False
            flight = self._flights[key] = Flight()
            return flight, True

    def land(
        self,
        key: bytes,
        flight: Flight,
        claims: Claims | None = None,
        error: Exception | None = None,
    ) -> None:
        """End ``flight`` with its result; later joins start a new one."""
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
        flight.finish(claims, error)

    def fly(self, key: bytes, flight: Flight, work: Callable[[], Claims]) -> None:
        """Run ``work`` for ``flight`` and land it with the claims or the error raised."""
        try:
            claims = work()
        except Exception as exc:  # noqa: BLE001 - handed to every waiter, re-raised there
            self.land(key, flight, error=exc)
        else:
            self.land(key, flight, claims)

    def __len__(self) -> int:
        with self._lock:
            return len(self._flights)
