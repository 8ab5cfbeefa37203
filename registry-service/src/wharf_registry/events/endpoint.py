"""A notification endpoint as a consumer of the outbox: the reference registry's HTTP sink.

Behaviour after distribution's notifications (docs "Work with notifications";
notifications/http.go, endpoint.go, sinks.go), with the outbox's durability:

- one ``POST`` of the envelope ``{"events": [...]}`` per batch (up to
  REGISTRY_NOTIFICATIONS_BATCH events), ``Content-Type`` and ``Accept``
  :data:`~wharf_protocol.events.EVENTS_MEDIA_TYPE` (what distribution 3 sends), plus the
  endpoint's ``headers`` (several values of one name are sent joined by ``", "``);
- ``timeout`` bounds the connection and each read of the answer; no connection is kept
  between batches (distribution closes idle connections after each request), and proxies
  come from the environment (``HTTPS_PROXY``...), as Go's default transport takes them;
- any 2xx or 3xx answer, after following redirects, is a delivery, as in distribution;
  anything else, or no answer, fails the whole batch, which is kept;
- ``threshold`` and ``backoff`` are distribution's breaker: after a failure the batch is
  retried at once until ``threshold`` failures in a row; from then on the endpoint is failing
  and each retry waits ``backoff``; a success resets the count;
- events whose action or target media type the endpoint ignores (``ignore.actions``,
  ``ignore.mediatypes`` and ``ignoredmediatypes``) are not sent and count as delivered;
  a batch of only ignored events sends nothing;
- Wharf's extension events (``wharf.gc``, ``wharf.quota_refused``:
  :data:`~wharf_protocol.events.WHARF_ACTIONS`, for the Index's audit log) are never sent,
  whatever the configuration: an endpoint speaks distribution's envelope, whose actions are
  push, pull, delete and mount only. They count as delivered, like ignored events.

Unlike distribution, nothing is dropped: its queue is in memory (lost on restart, unbounded
while an endpoint is down); here undelivered events stay in the outbox in storage, so a long
outage costs storage. While failing, a WARNING names the endpoint and its backlog (on
entering the failing state, then at most every :data:`WARN_EVERY` seconds). Logs name the
endpoint and its URL without user information or query; header values are never logged.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import TYPE_CHECKING

import requests
from wharf_protocol.events import EVENTS_MEDIA_TYPE, dump_envelope, is_wharf_action

from ..endpoints_config import EndpointConfig
from ..storage.base import StorageError

if TYPE_CHECKING:
    from .delivery import Lane, Loaded

logger = logging.getLogger(__name__)

WARN_EVERY = 60.0


class EndpointFailed(Exception):
    """The endpoint did not acknowledge a batch (no answer, or not 2xx/3xx)."""


class EndpointConsumer:
    """POST batches to one configured endpoint; see the module docstring."""

    retryable = (EndpointFailed, StorageError)

    def __init__(self, config: EndpointConfig) -> None:
        self.config = config
        self.name = f"endpoint-{config.name}"
        self._warned = float("-inf")
        self.headers = {"Content-Type": EVENTS_MEDIA_TYPE, "Accept": EVENTS_MEDIA_TYPE}
        self.headers.update({k: ", ".join(v) for k, v in config.headers.items()})
        logger.info(
            "configuring notification endpoint %s (%s), timeout=%.3gs, threshold=%d, backoff=%.3gs",
            config.name,
            config.safe_url,
            config.timeout,
            config.threshold,
            config.backoff,
        )

    def deliver(self, loaded: Loaded) -> None:
        """POST the events of ``loaded`` the endpoint does not ignore; EndpointFailed if not
        acknowledged."""
        events = [
            event
            for _, batch in loaded
            for event in batch
            if not is_wharf_action(event.action)
            and not self.config.ignores(event.action, event.target.media_type)
        ]
        if not events:
            return
        body = json.dumps(dump_envelope(events), separators=(",", ":")).encode()
        timeout = self.config.timeout
        try:
            with requests.Session() as session:  # no idle connection kept, as distribution
                response = session.post(
                    self.config.url, data=body, headers=self.headers, timeout=(timeout, timeout)
                )
                response.close()
        except requests.RequestException as exc:
            raise EndpointFailed(_reason(exc)) from None
        if not 200 <= response.status_code < 400:
            raise EndpointFailed(f"answered {response.status_code} {response.reason}")

    def delay(self, failures: int) -> float:
        """Distribution's breaker: no wait before ``threshold`` failures, then ``backoff``."""
        return 0.0 if failures < self.config.threshold else self.config.backoff

    def failed(self, exc: BaseException, failures: int, delay: float, lane: Lane) -> None:
        now = time.monotonic()
        failing = failures >= self.config.threshold
        if failing and (failures == self.config.threshold or now - self._warned >= WARN_EVERY):
            self._warned = now
            try:
                count, oldest = lane.backlog()
            except StorageError:
                count, oldest = -1, ""
            logger.warning(
                "notification endpoint %s (%s) is failing: %s; %d failures in a row, retrying "
                "every %.3g s; %s outbox objects wait for it%s (kept in storage until delivered)",
                self.config.name,
                self.config.safe_url,
                exc,
                failures,
                delay,
                "unknown" if count < 0 else f"{count}+" if count >= 10000 else count,
                f", the oldest from {oldest[:23]}" if oldest else "",
            )
            return
        logger.info(
            "notification endpoint %s: delivery failed (%s); events kept, retry %d in %.3g s",
            self.config.name,
            exc,
            failures,
            delay,
        )

    def recovered(self, failures: int) -> None:
        logger.info(
            "notification endpoint %s recovered after %d failed attempts",
            self.config.name,
            failures,
        )


def _reason(exc: requests.RequestException) -> str:
    """Say why a request failed without the URL's query (it may carry a credential)."""
    text = re.sub(r"\?\S*", "?...", str(exc))
    return f"{type(exc).__name__}: {text}"[:300]
