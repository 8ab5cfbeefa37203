"""The webhook worker (``wharf-index worker``): deliver the queued deliveries, in order, with
retries.

Each attempt is one transaction (:func:`deliver_next`): take the oldest pending delivery
of an active webhook when it is due, locking that webhook (``uow.webhook_queue``,
adapters/webhook_queue.py: one attempt at a time per webhook across every thread and
process, in id order), sign it (services/webhook_signing.py, a fresh timestamp per
attempt), send it (the WebhookSender port, adapters/webhook_http.py: address rule,
timeouts, redirects) and record the attempt. A worker killed mid-attempt commits nothing:
the next one sends the delivery again with the same ``X-Wharf-Delivery``.

After the attempt:

- 2xx: delivered; the webhook's failures in a row go back to 0;
- anything else: the webhook's failures in a row go up (at ``INDEX_WEBHOOK_MAX_FAILURES``
  it is deactivated with the reason, and its deliveries wait until a person re-enables
  it), and the delivery is due again after :func:`backoff` of its attempt number
  (``INDEX_WEBHOOK_RETRY_BASE * 2**(attempt-1)`` capped at ``INDEX_WEBHOOK_RETRY_MAX``,
  times a random factor in [0.5, 1] so that many webhooks failing together do not retry
  together), unless that falls past ``INDEX_WEBHOOK_MAX_AGE`` after it was queued: then it
  is marked failed. A delivery never attempted and found already that old (its webhook was
  off) is marked failed without being sent, with one attempt logged saying so. One that was
  attempted before (a retry after its webhook was re-enabled, or one a person redelivers
  with ``POST .../redeliver``, which keeps its ``created_at``) gets one more attempt, and is
  marked failed if that fails.

A signing secret that does not open (``INDEX_SECRET_KEY`` changed) fails the attempt with
an error saying so. One INFO line per attempt gives the webhook id, delivery id, attempt,
status and duration; never the secret, the signature or the URL (which may hold a token).

:class:`WebhookWorker` runs ``threads`` threads of :func:`deliver_next`. A thread that
finds nothing due sleeps until a wake-up (the Wakeups port: ``LISTEN wharf_webhooks``, one
connection, whose notifications the enqueueing transactions send) or for at most
``poll`` seconds (1 s: retries that fall due, and a lost notification, wait no longer).
:meth:`WebhookWorker.stop` lets in-flight attempts finish (each bounded by
``INDEX_WEBHOOK_TIMEOUT``); :meth:`WebhookWorker.run_until_idle` (``--once``) delivers
everything due now and returns.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..domain.errors import DatabaseUnavailable
from ..domain.webhook_delivery import DueDelivery, SendOutcome, Wakeups, WebhookSender
from . import webhook_signing
from .secret_box import SecretUnreadable, unseal
from .unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

POLL = 1.0
LISTEN_TICK = 1.0  # the listener's longest wait, so that it notices a stop
NOT_SENT = "not sent: queued longer ago than INDEX_WEBHOOK_MAX_AGE"
SEALED_ELSEWHERE = (
    "the signing secret cannot be read: it was sealed under another INDEX_SECRET_KEY"
    " (or is corrupt); give the webhook a new secret"
)


@dataclass(frozen=True)
class DeliveryPolicy:
    """What the worker needs from the settings (``from_settings``), and its version for
    the User-Agent."""

    secret_key: str = field(repr=False)
    version: str
    max_age: int = 24 * 3600
    retry_base: int = 2
    retry_max: int = 3600
    max_failures: int = 20

    @classmethod
    def from_settings(cls, settings, version: str) -> DeliveryPolicy:
        return cls(
            secret_key=settings.secret_key,
            version=version,
            max_age=settings.webhook_max_age,
            retry_base=settings.webhook_retry_base,
            retry_max=settings.webhook_retry_max,
            max_failures=settings.webhook_max_failures,
        )


def backoff(
    attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds before the attempt after failed attempt ``attempt`` (from 1): ``base *
    2**(attempt-1)`` capped at ``cap``, times a random factor in [0.5, 1]."""
    delay = min(base * 2 ** min(attempt - 1, 62), cap)
    return delay * (0.5 + 0.5 * rand())


@dataclass(frozen=True)
class Attempted:
    """What :func:`deliver_next` did with a delivery: ``result`` is ``delivered``,
    ``retry`` (after ``delay`` seconds), ``failed`` (given up after this attempt) or
    ``expired`` (given up without sending: too old; its logged outcome says so);
    ``disabled``: the webhook was deactivated."""

    delivery: DueDelivery
    result: str
    outcome: SendOutcome | None = None
    delay: float | None = None
    disabled: bool = False


def deliver_next(
    uow: UnitOfWork,
    sender: WebhookSender,
    policy: DeliveryPolicy,
    *,
    clock: Callable[[], float] = time.time,
    rand: Callable[[], float] = random.random,
) -> Attempted | None:
    """Take one due delivery, attempt it and record the attempt, in one transaction (the
    module docstring); None when nothing is due. Raises only for database failures."""
    with uow:
        queue = uow.webhook_queue
        due = queue.take_due()
        if due is None:
            return None
        if due.age >= policy.max_age and due.attempt == 1:
            expired = SendOutcome(None, 0, f"{NOT_SENT} ({due.age:.0f} s)")
            queue.record_attempt(due, expired)
            queue.give_up(due, attempted=True)
            logger.info(
                "webhook %d delivery %s: not sent, queued %d s ago (INDEX_WEBHOOK_MAX_AGE)",
                due.webhook_id,
                due.delivery_id,
                due.age,
            )
            return Attempted(due, "expired", expired)
        outcome = _attempt(due, sender, policy, int(clock()))
        queue.record_attempt(due, outcome)
        if outcome.ok:
            queue.delivered(due)
            done = Attempted(due, "delivered", outcome)
        else:
            disabled = queue.count_failure(due.webhook_id, policy.max_failures, outcome.describe())
            delay = backoff(due.attempt, policy.retry_base, policy.retry_max, rand)
            if due.age + delay >= policy.max_age:
                queue.give_up(due, attempted=True)
                done = Attempted(due, "failed", outcome, disabled=disabled)
            else:
                queue.retry_later(due, delay)
                done = Attempted(due, "retry", outcome, delay, disabled)
    _log(done)
    return done


def _attempt(due: DueDelivery, sender: WebhookSender, policy: DeliveryPolicy, now: int):
    """Sign and send ``due``; any failure (the secret, the format, a bug) becomes the
    outcome's error, so one bad row never stops the worker."""
    body = due.body.encode()
    try:
        secret = unseal(policy.secret_key, due.secret_sealed)
    except SecretUnreadable:
        return SendOutcome(None, 0, SEALED_ELSEWHERE)
    try:
        headers = webhook_signing.headers(
            secret=secret,
            delivery_id=due.delivery_id,
            event=due.event,
            format=due.format,
            body=body,
            timestamp=now,
            version=policy.version,
        )
        return sender.send(due.url, headers, body)
    except Exception as exc:  # noqa: BLE001 - recorded as the attempt's failure
        logger.exception("webhook %d delivery %s: attempt failed", due.webhook_id, due.delivery_id)
        return SendOutcome(None, 0, f"internal error: {type(exc).__name__}")


def _log(done: Attempted) -> None:
    due, outcome = done.delivery, done.outcome
    assert outcome is not None
    then = {
        "delivered": "delivered",
        "retry": f"retry in {done.delay or 0:.0f} s",
        "failed": "failed (INDEX_WEBHOOK_MAX_AGE reached)",
    }[done.result]
    logger.info(
        "webhook %d delivery %s attempt %d: %s in %d ms; %s",
        due.webhook_id,
        due.delivery_id,
        due.attempt,
        outcome.describe(),
        outcome.duration_ms,
        then,
    )
    if done.disabled:
        logger.warning(
            "webhook %d disabled: too many failed attempts in a row"
            " (INDEX_WEBHOOK_MAX_FAILURES); last: %s",
            due.webhook_id,
            outcome.describe(),
        )


class WebhookWorker:
    """``threads`` delivery threads and a wake-up listener (module docstring).

    ``uow_factory`` gives each thread its own unit of work; ``wakeups`` (None: poll only)
    is used by one listener thread."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        sender: WebhookSender,
        policy: DeliveryPolicy,
        *,
        threads: int = 4,
        wakeups: Wakeups | None = None,
        poll: float = POLL,
    ) -> None:
        self._uow_factory = uow_factory
        self.sender = sender
        self.policy = policy
        self.threads = threads
        self.poll = poll
        self._wakeups = wakeups
        self._stopping = threading.Event()
        self._wake = threading.Condition()
        self._generation = 0
        self._threads: list[threading.Thread] = []
        self._count_lock = threading.Lock()
        self.attempts = 0
        self.failures = 0  # threads of run_until_idle ended by an error (logged)

    # -- running --------------------------------------------------------------------------

    def start(self) -> WebhookWorker:
        """Start the delivery threads and the listener; return at once."""
        self._spawn(self._serve)
        if self._wakeups is not None:
            listener = threading.Thread(target=self._listen, name="wharf-webhooks-listen")
            listener.daemon = True
            listener.start()
            self._threads.append(listener)
        return self

    def run_until_idle(self) -> int:
        """Deliver everything due now with ``threads`` threads, then return the number of
        attempts made (``--once``). Deliveries put off by a failure are not waited for. A
        thread that meets an error (the database) logs it, counts it in ``failures`` and
        ends."""
        before = self.attempts
        self._spawn(self._drain)
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        return self.attempts - before

    def stop(self, timeout: float | None = None) -> bool:
        """Stop taking deliveries; wait up to ``timeout`` seconds in all for in-flight
        attempts to be recorded. False when some thread was still busy."""
        self._stopping.set()
        self.wake()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            left = None if deadline is None else max(deadline - time.monotonic(), 0)
            thread.join(left)
        return not any(thread.is_alive() for thread in self._threads)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def wake(self) -> None:
        """Wake every idle thread (deliveries were queued)."""
        with self._wake:
            self._generation += 1
            self._wake.notify_all()

    # -- threads ------------------------------------------------------------------------

    def _spawn(self, target: Callable[[], None]) -> None:
        for number in range(self.threads):
            thread = threading.Thread(target=target, name=f"wharf-webhooks-{number + 1}")
            thread.daemon = True  # a hung database must not keep a stopped process alive
            thread.start()
            self._threads.append(thread)

    def _serve(self) -> None:
        uow = self._uow_factory()
        failing = False
        while not self._stopping.is_set():
            seen = self._generation
            try:
                done = self._deliver(uow)
                failing = False
            except DatabaseUnavailable as exc:
                if not failing:
                    logger.warning("webhook worker: database unavailable (%s); retrying", exc)
                failing, done = True, None
            except Exception:  # noqa: BLE001 - the thread must survive; the row is retried
                logger.exception("webhook worker: taking or recording a delivery failed")
                done = None
            if done is not None:
                continue
            with self._wake:
                self._wake.wait_for(
                    lambda seen=seen: self._generation != seen or self._stopping.is_set(),
                    timeout=self.poll,
                )

    def _drain(self) -> None:
        uow = self._uow_factory()
        while not self._stopping.is_set():
            try:
                if self._deliver(uow) is None:
                    return
            except Exception as exc:  # noqa: BLE001 - logged; --once then ends this thread
                if isinstance(exc, DatabaseUnavailable):
                    logger.warning("webhook worker: database unavailable (%s)", exc)
                else:
                    logger.exception("webhook worker: taking or recording a delivery failed")
                with self._count_lock:
                    self.failures += 1
                return

    def _deliver(self, uow: UnitOfWork) -> Attempted | None:
        done = deliver_next(uow, self.sender, self.policy)
        if done is not None:
            with self._count_lock:
                self.attempts += 1
        return done

    def _listen(self) -> None:
        assert self._wakeups is not None
        try:
            while not self._stopping.is_set():
                if self._wakeups.wait(min(self.poll, LISTEN_TICK)):
                    self.wake()
        finally:
            self._wakeups.close()
