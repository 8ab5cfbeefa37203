"""Client-side bounds on every wait for PostgreSQL (used by db.py).

A server that stopped answering while its host still holds the TCP connection open (a
SIGSTOPped or wedged PostgreSQL, a hung host behind a live kernel) never makes libpq return:
the kernel acknowledges what the client sends and its keepalive probes, so neither
``statement_timeout`` (server side), TCP keepalives nor ``tcp_user_timeout`` end a wait that
has started. psycopg2 therefore runs in its "green" mode with :func:`wait` as its wait
callback (``psycopg2.extensions.set_wait_callback``, process-wide, installed by
:func:`install_wait_callback` with the first pool): libpq is used non-blocking and each wait
(connecting, a statement, ``COMMIT``) polls with a deadline -- the connection's
``connect_timeout`` while connecting, its ``response_timeout`` for an answer, both cut down
by the current thread's :func:`limits` -- and raises :class:`DatabaseTimeout` past it;
psycopg2 then closes the connection. Connections that are not a
:class:`BoundedConnection` (made outside a Database) wait without a bound, as in blocking
mode.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions

logger = logging.getLogger(__name__)


class DatabaseTimeout(psycopg2.OperationalError):
    """The server did not answer within the client-side bound; the connection is closed."""


_bounds = threading.local()  # .wait (seconds per wait), .deadline (monotonic): limits()


class BoundedConnection(psycopg2.extensions.connection):
    """A connection with bounds: each Database makes a subclass carrying its own."""

    connect_timeout: float | None = None
    response_timeout: float | None = None


def _limit(conn) -> float | None:
    """Seconds the current wait on ``conn`` may last (None: no bound)."""
    if not isinstance(conn, BoundedConnection):
        return None
    connecting = conn.status == psycopg2.extensions.STATUS_SETUP
    limit = conn.connect_timeout if connecting else conn.response_timeout
    return tighter(limit)


def tighter(limit: float | None) -> float | None:
    """``limit`` cut down to the current thread's :func:`limits`."""
    wait = getattr(_bounds, "wait", None)
    deadline = getattr(_bounds, "deadline", None)
    for bound in (wait, None if deadline is None else max(deadline - time.monotonic(), 0.0)):
        if bound is not None and (limit is None or bound < limit):
            limit = bound
    return limit


def wait(conn) -> None:
    """psycopg2's wait callback: poll ``conn`` until its operation completes, within the
    bound of :func:`_limit`; raise :class:`DatabaseTimeout` past it (psycopg2 then closes
    the connection). Interrupts (KeyboardInterrupt) propagate the same way."""
    limit = _limit(conn)
    deadline = None if limit is None else time.monotonic() + limit
    poller = select.poll()
    while True:
        state = conn.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        if state == psycopg2.extensions.POLL_READ:
            poller.register(conn.fileno(), select.POLLIN)
        elif state == psycopg2.extensions.POLL_WRITE:
            poller.register(conn.fileno(), select.POLLOUT)
        else:  # pragma: no cover - psycopg2 documents no other state
            raise psycopg2.OperationalError(f"unexpected poll state {state}")
        if deadline is None:
            poller.poll()
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not poller.poll(remaining * 1000):
            raise DatabaseTimeout(f"no answer from the database within {limit:g}s")


def install_wait_callback() -> None:
    current = psycopg2.extensions.get_wait_callback()
    if current is not wait:
        if current is not None:
            logger.warning("replacing psycopg2's wait callback %r", current)
        psycopg2.extensions.set_wait_callback(wait)


@contextmanager
def limits(*, wait: float | None = None, total: float | None = None) -> Iterator[None]:
    """Tighten the bounds of this thread's database work inside the block: each wait (for
    a pooled connection, connecting, an answer) at most ``wait`` seconds, and all of them
    together over by ``total`` seconds from now. Nested blocks only tighten."""
    saved = (getattr(_bounds, "wait", None), getattr(_bounds, "deadline", None))
    if wait is not None and (saved[0] is None or wait < saved[0]):
        _bounds.wait = wait
    if total is not None:
        deadline = time.monotonic() + total
        if saved[1] is None or deadline < saved[1]:
            _bounds.deadline = deadline
    try:
        yield
    finally:
        _bounds.wait, _bounds.deadline = saved
