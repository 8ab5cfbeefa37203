"""Pull rate limits at the registry: what a token's ``pulls`` policy leaves, per process.

The Index decides a caller's pull limit when it issues a token
(:class:`wharf_protocol.policy.PullLimit`: ``limit`` pulls per ``window`` seconds, of which
``remaining`` were left then) and counts the pulls the registries report as events. Between
two tokens the registry keeps the count itself: a :class:`PullMeter` counts, per token (its
``jti``), the manifest GETs this worker process served with it, so a token stops pulling
once its ``remaining`` is used up here, without a call to the Index.

- A manifest GET takes one pull: with one left or more it is served and the answer says
  what is left after it; with none, :class:`PullLimitReached` (429 ``TOOMANYREQUESTS``).
  HEAD takes none (as on Docker Hub) but says what is left.
- The count of a token is dropped when the token expires (``exp`` + leeway); at most
  ``capacity`` tokens are counted per process, the least recently used dropped first.

What this bounds, exactly: one token serves at most ``remaining`` pulls *per worker
process* (per replica and worker: a client whose requests spread over P processes may pull
up to P times ``remaining`` with one token), and a token whose count was dropped for
capacity may pull its ``remaining`` again. Across tokens the Index is the bound, as soon as
the pulls reached it (the pull counter's flush plus the outbox delivery: about two seconds
when the Index is up); a client fetching new tokens faster than that, or while the Index
does not receive events, gets each token's ``remaining`` again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from wharf_protocol.lru import ExpiringLRU
from wharf_protocol.policy import PullLimit

__all__ = ["PullLimitReached", "PullMeter", "rate_limit_headers"]


class PullLimitReached(Exception):
    """A token's pulls are used up in this process: answer 429 ``TOOMANYREQUESTS``.

    ``retry_after``: seconds until the token expires, when a new one says more."""

    def __init__(self, limit: PullLimit, retry_after: int) -> None:
        self.limit = limit
        self.retry_after = max(1, int(retry_after))
        super().__init__(
            f"pull rate limit reached ({limit.limit} pulls per {limit.window} s); "
            f"a new token in {self.retry_after} s says when pulls are allowed again"
        )


@dataclass
class _Used:
    pulls: int
    until: float  # when the token's count is dropped


class PullMeter:
    """Pulls served per token by this process (module docstring); thread-safe."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._used: ExpiringLRU[str, _Used] = ExpiringLRU(max(1, capacity), lambda u: u.until)
        self._lock = threading.Lock()  # read-modify-write of one count

    def take(self, key: str, limit: PullLimit, until: float, now: float) -> int:
        """Count one pull of token ``key`` (counted until ``until``); return what remains
        after it. PullLimitReached (nothing counted) when nothing remains."""
        with self._lock:
            used = self._used.get(key, now)
            if used is None:
                used = _Used(0, until)
                self._used.put(key, used)
            if used.pulls >= limit.remaining:
                raise PullLimitReached(limit, until - now)
            used.pulls += 1
            return limit.remaining - used.pulls

    def remaining(self, key: str, limit: PullLimit, now: float) -> int:
        """What token ``key`` has left, counting nothing."""
        with self._lock:
            used = self._used.get(key, now)
        return max(0, limit.remaining - (used.pulls if used else 0))


def rate_limit_headers(limit: PullLimit, remaining: int) -> dict[str, str]:
    """``RateLimit-Limit: 100;w=21600`` and ``RateLimit-Remaining: 76;w=21600``, as Docker Hub
    sends them on manifest requests (the IETF RateLimit header fields draft's early form)."""
    window = f";w={limit.window}"
    return {
        "RateLimit-Limit": f"{limit.limit}{window}",
        "RateLimit-Remaining": f"{max(0, remaining)}{window}",
    }
