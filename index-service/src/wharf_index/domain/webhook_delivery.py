"""What the webhook worker handles and the ports it delivers through (services/webhook_worker.py).

- :class:`DueDelivery`: a queued delivery the worker has taken (its webhook row locked by
  the taking transaction, adapters/webhook_queue.py);
- :class:`SendOutcome`: what one HTTP attempt gave (adapters/webhook_http.py);
- :class:`WebhookSender`: the port that POSTs a signed body to a webhook URL, applying the
  address rule of domain/webhook_targets.py to every address it connects to;
- :class:`Wakeups`: the port that tells the worker new deliveries were queued (PostgreSQL
  ``LISTEN wharf_webhooks``; the enqueueing transaction runs ``pg_notify``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

NOTIFY_CHANNEL = "wharf_webhooks"
RESPONSE_EXCERPT = 2048  # bytes of an answer kept in the delivery log


@dataclass(frozen=True)
class DueDelivery:
    """A pending delivery taken for an attempt: the row (``id``, its ``delivery_id`` uuid
    as text, ``event``, exact ``body``), its webhook (``url``, ``format``, the sealed
    secret), ``attempt`` (the number of this attempt, from 1) and ``age`` (seconds since
    it was queued, by the database's clock)."""

    id: int
    delivery_id: str
    webhook_id: int
    url: str
    format: str
    secret_sealed: str
    event: str
    body: str
    attempt: int
    age: float


@dataclass(frozen=True)
class SendOutcome:
    """One attempt's result: the HTTP status (None: no answer), how long it took, why it
    failed beyond the status (``''``: nothing to add), the start of the answer's body."""

    status_code: int | None
    duration_ms: int
    error: str = ""
    response: str = ""

    @property
    def ok(self) -> bool:
        """A 2xx answer and nothing else wrong: delivered."""
        return not self.error and self.status_code is not None and 200 <= self.status_code < 300

    def describe(self) -> str:
        """Short text for logs and the reason a webhook was disabled (``HTTP 500``, or the
        error); never the URL, which may carry a token."""
        if self.error:
            prefix = f"HTTP {self.status_code}: " if self.status_code is not None else ""
            return prefix + self.error
        return f"HTTP {self.status_code}"


class WebhookSender(Protocol):
    def send(self, url: str, headers: Mapping[str, str], body: bytes) -> SendOutcome:
        """POST ``body`` with ``headers`` to ``url`` once; never raises (a failure is an
        outcome with its error)."""


class Wakeups(Protocol):
    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True when deliveries were queued meanwhile."""

    def close(self) -> None:
        """Release the connection."""


class WebhookQueueStore(Protocol):
    """``uow.webhook_queue``: the delivery queue as the worker drives it. Every method runs
    in the transaction that took the delivery, which holds its webhook's row lock until the
    attempt is recorded (adapters/webhook_queue.py)."""

    def take_due(self) -> DueDelivery | None:
        """Lock an active webhook whose oldest pending delivery is due, skipping webhooks
        another transaction holds, and return that delivery; None when nothing is due."""

    def record_attempt(self, delivery: DueDelivery, outcome: SendOutcome) -> None:
        """Add attempt ``delivery.attempt`` to the delivery log."""

    def delivered(self, delivery: DueDelivery) -> None:
        """Mark the delivery delivered and its webhook's failures in a row back to 0."""

    def retry_later(self, delivery: DueDelivery, delay: float) -> None:
        """Count the attempt and make the delivery due again in ``delay`` seconds."""

    def give_up(self, delivery: DueDelivery, *, attempted: bool) -> None:
        """Mark the delivery failed (finished); ``attempted``: count this attempt too."""

    def count_failure(self, webhook_id: int, max_failures: int, last: str) -> bool:
        """Add a failed attempt to the webhook's failures in a row; at ``max_failures``
        deactivate it, saying why (with ``last``, the last failure). True: disabled now."""
