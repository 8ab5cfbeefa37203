"""Prometheus metrics both services share: the multiprocess directory, gunicorn hooks, scrapes.

Each service runs several gunicorn worker processes, and a scrape reaches one of them; the
numbers must be those of all. prometheus_client's multiprocess mode does that: every process
writes its samples to memory-mapped files in ``PROMETHEUS_MULTIPROC_DIR`` and a scrape merges
the files (https://prometheus.github.io/client_python/multiprocess/). Its rules, kept here:

- the directory must exist, and be empty of an earlier run's files, before the first metric
  is created in any process: :func:`prepare_directory`, run by the ``on_starting`` hook in
  gunicorn's master, before workers fork (a directory the operator set is emptied; otherwise
  a fresh temporary one is made, and removed when gunicorn exits: ``on_exit``);
- prometheus_client chooses its mode once, when it is first imported, from that variable; so
  this module, and the services' ``metrics`` modules, import it only inside functions, and a
  gunicorn configuration importing the service's code does not import it in the master;
- a worker that exits is marked dead (``child_exit``: ``mark_process_dead``), which drops its
  live gauges (uploads in flight); its counters stay, as counters must.

Without the variable (the app built in-process, by tests) the process's own registry is
served. :func:`exposition` renders either, plus collectors computed at scrape time (numbers
read from storage or the database, never counted per request).
"""

from __future__ import annotations

import glob
import hmac
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

__all__ = [
    "ENV",
    "METHODS",
    "authorized",
    "exposition",
    "gunicorn_hooks",
    "prepare_directory",
]

ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The request methods a ``method`` label may take; anything else is ``other`` (a client
#: choosing label values would grow the series without bound).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_OWNED_PREFIX = "wharf-metrics-"


def prepare_directory(environ: MutableMapping[str, str] | None = None) -> tuple[str, bool]:
    """Make ``PROMETHEUS_MULTIPROC_DIR`` usable for a new start; return it and whether it
    was created here (then :func:`gunicorn_hooks`' ``on_exit`` removes it).

    An operator's directory is created if missing and emptied of ``*.db`` files (samples of
    processes of an earlier start, which would otherwise be added to this one's).
    """
    env = os.environ if environ is None else environ
    path = env.get(ENV)
    if not path:
        path = tempfile.mkdtemp(prefix=_OWNED_PREFIX)
        env[ENV] = path
        return path, True
    os.makedirs(path, exist_ok=True)
    for stale in glob.glob(os.path.join(path, "*.db")):
        os.remove(stale)
    return path, False


def gunicorn_hooks() -> dict[str, Any]:
    """Return the ``on_starting``, ``child_exit`` and ``on_exit`` server hooks of a gunicorn
    configuration (``globals().update(metrics.gunicorn_hooks())``)."""
    created: list[str] = []

    def on_starting(server) -> None:
        path, owned = prepare_directory()
        if owned:
            created.append(path)
        if "prometheus_client" in sys.modules:  # imported before the variable was set
            from prometheus_client import values

            values.ValueClass = values.get_value_class()

    def child_exit(server, worker) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

    def on_exit(server) -> None:
        for path in created:
            shutil.rmtree(path, ignore_errors=True)

    return {"on_starting": on_starting, "child_exit": child_exit, "on_exit": on_exit}


def authorized(authorization: str | None, token: str | None) -> bool:
    """Whether a scrape may read the metrics: no token configured, or ``Authorization:
    Bearer <token>`` (compared in constant time; RFC 6750 section 2.1)."""
    if not token:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


class _Chain:
    """A registry-like object: what ``generate_latest`` needs is ``collect()``."""

    def __init__(self, sources: Iterable[Any]) -> None:
        self.sources = list(sources)

    def collect(self) -> Iterator[Any]:
        for source in self.sources:
            yield from source.collect()


def exposition(collectors: Iterable[Any] = (), accept: str | None = None) -> tuple[bytes, str]:
    """Return the body and content type of a scrape: every process's samples (multiprocess
    mode) or this process's, then ``collectors`` (objects with ``collect()``); OpenMetrics
    when ``accept`` asks for it, else the Prometheus text format 0.0.4."""
    from prometheus_client import REGISTRY, CollectorRegistry
    from prometheus_client.exposition import choose_encoder
    from prometheus_client.multiprocess import MultiProcessCollector

    if os.environ.get(ENV):
        base = CollectorRegistry()
        MultiProcessCollector(base)
    else:
        base = REGISTRY
    encoder, content_type = choose_encoder(accept or "")
    return encoder(_Chain([base, *collectors])), content_type
