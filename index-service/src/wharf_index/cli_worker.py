"""``wharf-index worker [--threads N] [--once]``: the webhook delivery worker (wired into cli.py).

Runs services/webhook_worker.py's WebhookWorker on its own pool (one connection per thread)
and one listening connection, with the HTTP sender of adapters/webhook_http.py, until
SIGTERM or SIGINT: it then stops taking deliveries, lets in-flight attempts finish
(``INDEX_WEBHOOK_TIMEOUT`` and a few seconds more at most; an attempt cut short stays
pending and is sent again) and exits 0. ``--once`` delivers everything due and exits
(cron, tests): it prints the number of attempts made, and exits 1 when a thread stopped on
an error (the database unavailable, say; logged). Any number of workers may run at
once, on any hosts: each webhook is delivered by one of them at a time, in order.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from importlib.metadata import version

from .adapters.db import Database
from .adapters.unit_of_work import PgUnitOfWork
from .adapters.webhook_http import WebhookHTTP
from .adapters.webhook_queue import PgWakeups
from .logconfig import configure_logging
from .services.config import ServiceConfig
from .services.webhook_worker import DeliveryPolicy, WebhookWorker

logger = logging.getLogger(__name__)
STOP_GRACE = 5  # seconds beyond INDEX_WEBHOOK_TIMEOUT that in-flight attempts may take


def add_parsers(sub) -> None:
    """Add ``worker`` to the commands."""
    worker = sub.add_parser("worker", help="deliver webhooks (until SIGTERM/SIGINT)")
    worker.add_argument(
        "--threads", type=_positive, help="delivery threads (default INDEX_WEBHOOK_WORKER_THREADS)"
    )
    worker.add_argument("--once", action="store_true", help="deliver what is due, then exit")


def _positive(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {raw!r}")
    return int(raw)


def run(settings, args, stdout) -> int:
    """The ``worker`` command (module docstring); exit status 0 (1: ``--once`` met an
    error)."""
    threads = args.threads or settings.webhook_worker_threads
    configure_logging(settings.log_level, settings.log_format)
    db = Database.from_settings(settings, minconn=0, maxconn=threads)
    config = ServiceConfig.from_settings(settings)
    policy = DeliveryPolicy.from_settings(settings, version("wharf-index"))
    sender = WebhookHTTP.from_settings(settings)
    try:
        if args.once:
            worker = WebhookWorker(
                lambda: PgUnitOfWork(db, config), sender, policy, threads=threads
            )
            print(f"{worker.run_until_idle()} delivery attempts", file=stdout)
            return 1 if worker.failures else 0  # the error is in the log
        wakeups = PgWakeups(
            settings.database_url,
            connect_timeout=settings.db_connect_timeout,
            response_timeout=settings.db_response_timeout,
        )
        worker = WebhookWorker(
            lambda: PgUnitOfWork(db, config), sender, policy, threads=threads, wakeups=wakeups
        )
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        worker.start()
        logger.info("webhook worker started: %d delivery threads", threads)
        while not stop.wait(3600):
            pass
        logger.info("webhook worker stopping: finishing in-flight attempts")
        if not worker.stop(timeout=settings.webhook_timeout + STOP_GRACE):
            logger.warning("webhook worker: an attempt was still running; it stays pending")
        logger.info("webhook worker stopped")
        return 0
    finally:
        db.close()
