"""Whether an upstream is taken as down, per upstream and per process (the README's
"Pull-through cache"; ``REGISTRY_PROXY_DOWN_BACKOFF``).

An upstream that cannot be reached (a connection refused or timed out, a read timed out) or
answers 5xx is *down* for ``backoff`` seconds after that failure. While it is down, a
request that has a cached answer (a tag past its TTL, a tag list) is answered from the cache
at once (:meth:`UpstreamHealth.use_cache`), without paying the upstream's timeouts again; a
request with nothing cached still asks the upstream (it has no other answer), and its
failure starts the backoff again. Once the backoff has passed, the next request with a cached
answer asks the upstream (the others keep using the cache for another backoff meanwhile, so
at most one such request per backoff pays a timeout). Any answer from the upstream that is
not 5xx (a 404 too) marks it up again.

Times are this process's monotonic clock: nothing is compared across hosts or with wall
time. ``backoff`` 0 turns the memo off (every request asks the upstream). The transitions
are logged once each, naming the upstream by its URL without credentials, and recorded in
the ``wharf_registry_proxy_upstream_down`` gauge (metrics.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .. import metrics

logger = logging.getLogger(__name__)


class UpstreamHealth:
    """The up/down memo of one upstream (thread-safe)."""

    def __init__(
        self, name: str, backoff: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name  # the upstream's safe URL, for logs
        self.backoff = backoff
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._down = False
        self._retry_at = 0.0  # monotonic time after which a cached answer no longer suffices

    @property
    def down(self) -> bool:
        """Whether the last attempt failed (the upstream is not known to answer)."""
        return self._down

    def use_cache(self) -> bool:
        """For a request that has a cached answer: True to serve it without asking the
        upstream (it is down and its backoff runs); False to ask it. Past the backoff the
        first caller gets False and the backoff starts again for the others."""
        with self._lock:
            if not self._down:
                return False
            now = self._monotonic()
            if now < self._retry_at:
                return True
            self._retry_at = now + self.backoff  # this caller tries; the others wait
            return False

    def failed(self, why: str) -> None:
        """The upstream could not be reached or answered 5xx: down for the backoff."""
        if self.backoff <= 0:
            return
        with self._lock:
            was_down, self._down = self._down, True
            self._retry_at = self._monotonic() + self.backoff
        if not was_down:
            metrics.upstream_health(self.name, down=True)
            logger.warning(
                "upstream %s is down (%s): cached answers are served without asking it "
                "for %gs after each failure",
                self.name,
                why,
                self.backoff,
            )

    def answered(self) -> None:
        """The upstream answered (not 5xx): up."""
        if not self._down:  # the common case, without the lock
            return
        with self._lock:
            was_down, self._down = self._down, False
        if was_down:
            metrics.upstream_health(self.name, down=False)
            logger.info("upstream %s answers again", self.name)
