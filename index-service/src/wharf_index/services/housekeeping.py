"""Housekeeping: the served Index's periodic tasks, and pruning.

Tasks (:func:`tasks`), each with its interval (0 turns it off):

- ``deletion-redrive`` (``INDEX_DELETION_REDRIVE_INTERVAL``): services/deletion.py
  :func:`~wharf_index.services.deletion.redrive`, retrying repository deletions stuck in
  ``deleting``;
- ``prune`` (``INDEX_PRUNE_INTERVAL``): :func:`prune`;
- ``retention`` (``INDEX_RETENTION_INTERVAL``): services/retention.py
  :func:`~wharf_index.services.retention.run`, deleting the tags the repositories'
  retention rules no longer keep.

:class:`Housekeeper` is one daemon thread per served worker process: the composition root
(context.py) builds it with :func:`housekeeper`, and only wsgi.py starts it (gunicorn imports
wsgi.py in each worker); tests and the command line never do. On each tick it offers
every task to the schedule (``uow.housekeeping.claim``): a task runs only when its lease in
the database says it is due, and taking it moves the lease one interval ahead, so with any
number of workers and hosts each task runs once per interval. A failing run is logged and
recorded (``last_error``); the thread lives on. ``wharf-index prune``, ``wharf-index repo
redrive`` and ``wharf-index tag retention`` run the same work by hand.

Pruning (:func:`prune`) deletes in batches of ``INDEX_PRUNE_BATCH`` rows, each batch its own
short transaction, so it never holds many locks or a long transaction:

- issued-token records of tokens expired more than ``INDEX_TOKEN_LEEWAY`` ago: such a token
  fails the signature check's expiry (which allows that leeway) before its record is read,
  and a refresh token past its expiry is refused, so its record decides nothing any more;
- processed event ids older than ``INDEX_EVENT_RETENTION`` (7 days by default): an id only
  has to outlive every redelivery of its event, and a registry redelivers an event only
  until the Index acknowledged it, on its next delivery pass (the Index README's decisions
  give the bound);
- retired signing keys past their ``published_until`` (services/signing_keys.py): every
  token they signed has expired, so they are no longer published (a few rows: one
  statement);
- webhook deliveries finished (delivered or failed) more than
  ``INDEX_WEBHOOK_DELIVERY_RETENTION`` ago (30 days by default), with their attempts;
- webhooks of deleted repositories (``repository_id`` NULL) once nothing of theirs is
  pending: their last deliveries (``repository_deleted`` among them) were sent;
- pull counts (pull rate limits, migration 0017) of windows that have ended: a token is
  only ever decided on the current window's count.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from . import deletion, retention
from .registry_agent import RegistryAgent
from .unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

REDRIVE = "deletion-redrive"
PRUNE = "prune"
RETENTION = "retention"
MAX_BATCHES_PER_RUN = 100  # a scheduled run stops there; the next run goes on


@dataclass(frozen=True)
class PruneReport:
    """Rows deleted by :func:`prune` (with ``dry_run``: rows that would be)."""

    issued_tokens: int
    processed_events: int
    signing_keys: int = 0
    webhook_deliveries: int = 0
    orphan_webhooks: int = 0
    pull_counts: int = 0
    dry_run: bool = False

    def lines(self) -> list[str]:
        verb = "would be deleted" if self.dry_run else "deleted"
        return [
            f"{self.issued_tokens} expired issued-token records {verb}",
            f"{self.processed_events} old processed event ids {verb}",
            f"{self.signing_keys} retired signing keys past publication {verb}",
            f"{self.webhook_deliveries} old finished webhook deliveries {verb}",
            f"{self.orphan_webhooks} webhooks of deleted repositories {verb}",
            f"{self.pull_counts} pull counts of ended windows {verb}",
        ]


def prune(
    uow: UnitOfWork,
    *,
    token_grace: int,
    event_retention: int,
    batch: int,
    dry_run: bool = False,
    max_batches: int | None = None,
    delivery_retention: int = 30 * 24 * 3600,
) -> PruneReport:
    """Delete expired issued-token records, old processed event ids, retired signing keys
    no longer published, old finished webhook deliveries, webhooks of deleted repositories
    with nothing pending and pull counts of ended windows (module docstring), ``batch`` rows
    per transaction, at most ``max_batches`` batches per table (None: until done).
    ``dry_run`` only counts."""
    if dry_run:
        with uow.reading():
            return PruneReport(
                uow.issued_tokens.count_expired(token_grace),
                uow.content.count_old_events(event_retention),
                uow.signing_keys.count_unpublished(),
                uow.webhooks.count_old_deliveries(delivery_retention),
                uow.webhooks.count_orphans(),
                uow.pull_counts.count_ended(),
                dry_run=True,
            )
    tokens = _in_batches(
        uow, lambda: uow.issued_tokens.prune_expired(token_grace, batch), batch, max_batches
    )
    events = _in_batches(
        uow, lambda: uow.content.prune_events(event_retention, batch), batch, max_batches
    )
    with uow:
        keys = uow.signing_keys.prune_unpublished()
    deliveries = _in_batches(
        uow,
        lambda: uow.webhooks.prune_deliveries(delivery_retention, batch),
        batch,
        max_batches,
    )
    orphans = _in_batches(uow, lambda: uow.webhooks.prune_orphans(batch), batch, max_batches)
    counts = _in_batches(uow, lambda: uow.pull_counts.prune_ended(batch), batch, max_batches)
    return PruneReport(tokens, events, keys, deliveries, orphans, counts)


def _in_batches(
    uow: UnitOfWork, delete_batch: Callable[[], int], batch: int, max_batches: int | None
) -> int:
    total = batches = 0
    while max_batches is None or batches < max_batches:
        with uow:
            deleted = delete_batch()
        total, batches = total + deleted, batches + 1
        if deleted < batch:
            break
    return total


def prune_with_settings(
    uow: UnitOfWork, settings, *, dry_run: bool = False, max_batches: int | None = None
) -> PruneReport:
    """:func:`prune` with the grace, retention and batch size of ``settings``."""
    return prune(
        uow,
        token_grace=settings.token_leeway,
        event_retention=settings.event_retention,
        batch=settings.prune_batch,
        delivery_retention=settings.webhook_delivery_retention,
        dry_run=dry_run,
        max_batches=max_batches,
    )


@dataclass(frozen=True)
class Task:
    """A periodic task: its schedule name, interval in seconds, and the work."""

    name: str
    interval: int
    run: Callable[[], object]


def tasks(settings, uow_factory: Callable[[], UnitOfWork], agent: RegistryAgent) -> list[Task]:
    """The served Index's tasks with a non-zero interval (module docstring); each run takes
    a new unit of work from ``uow_factory``."""
    found = [
        Task(
            REDRIVE,
            settings.deletion_redrive_interval,
            lambda: deletion.redrive(uow_factory(), agent),
        ),
        Task(
            PRUNE,
            settings.prune_interval,
            lambda: prune_with_settings(uow_factory(), settings, max_batches=MAX_BATCHES_PER_RUN),
        ),
        Task(RETENTION, settings.retention_interval, lambda: retention.run(uow_factory(), agent)),
    ]
    return [task for task in found if task.interval > 0]


class Housekeeper:
    """A daemon thread offering its tasks to the schedule every ``tick`` seconds."""

    def __init__(
        self, uow_factory: Callable[[], UnitOfWork], tasks: list[Task], tick: float | None = None
    ) -> None:
        self._uow_factory = uow_factory
        self.tasks = list(tasks)
        self.tick = tick if tick is not None else min(t.interval for t in self.tasks)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wharf-housekeeping", daemon=True)

    def start(self) -> Housekeeper:
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def run_once(self) -> list[str]:
        """Run every task that is due (claimed here); return their names. Never raises: a
        failure (of the task, or of the database) is logged and the next tick tries again."""
        ran = []
        for task in self.tasks:
            try:
                uow = self._uow_factory()
                with uow:
                    if not uow.housekeeping.claim(task.name, task.interval):
                        continue
                ran.append(task.name)
                error = _run_logged(task)
                with uow:
                    uow.housekeeping.finished(task.name, error)
            except Exception:  # noqa: BLE001 - the thread must survive database outages
                logger.exception("housekeeping: scheduling %s failed", task.name)
        return ran

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            self.run_once()


def _run_logged(task: Task) -> str | None:
    try:
        result = task.run()
    except Exception as exc:  # noqa: BLE001 - logged and recorded; retried next interval
        logger.exception("housekeeping: %s failed", task.name)
        return f"{type(exc).__name__}: {exc}"[:1000]
    if isinstance(result, PruneReport):
        logger.info(
            "housekeeping: pruned %d issued-token records, %d processed event ids,"
            " %d signing keys, %d webhook deliveries, %d orphaned webhooks, %d pull counts",
            result.issued_tokens,
            result.processed_events,
            result.signing_keys,
            result.webhook_deliveries,
            result.orphan_webhooks,
            result.pull_counts,
        )
    return None


def housekeeper(
    settings, uow_factory: Callable[[], UnitOfWork], agent: RegistryAgent
) -> Housekeeper | None:
    """The Housekeeper of :func:`tasks`, not started (None when every task is turned off)."""
    found = tasks(settings, uow_factory, agent)
    return Housekeeper(uow_factory, found) if found else None
