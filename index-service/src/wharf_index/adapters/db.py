"""PostgreSQL access: a lazily created, fork-aware psycopg2 pool and transactions.

:class:`Database` owns one connection pool per *process*. Nothing connects at
import or construction: the pool is created on the first :meth:`Database.connection`, and
again when the process id changed (gunicorn forked a worker after the parent touched it;
the parent's sockets are abandoned, never closed, since closing would end the parent's
sessions).

Resilience (PostgreSQL restarted, stopped or hung, network cut):

- every wait for the server has a client-side bound (db_bounds.py): ``connect_timeout``
  while connecting, ``response_timeout`` for an answer, tightened per thread by
  :meth:`Database.limits` (the token endpoints, readiness). Past it the connection is
  closed and :class:`DatabaseUnavailable` (``timed_out``) raised (503), so a server that
  stopped answering with its TCP connections still open hangs no request.
- connections also have TCP keepalives and ``tcp_user_timeout`` (an unreachable peer is
  noticed on idle pooled connections), and statements a server-side ``statement_timeout``;
  waiting for a free pooled connection is bounded by ``pool_timeout``. Nothing hangs.
- a pooled connection is checked before it is handed out without a round trip: an idle
  PostgreSQL connection has nothing to read, so a readable socket means the server closed
  it or sent a termination notice (what a restart does). Such connections are discarded
  and another is taken, so after a restart requests do not fail one per stale connection.
- each connection tracks the statements prepared in its session (``prepared_statements``,
  adapters/base.py): a new connection, after a restart or a discarded one, prepares again.
- connections are kept for reuse: up to ``maxconn`` idle ones stay open (:class:`_Pool`:
  psycopg2's own pool closes every returned connection beyond ``minconn``, and connects
  while holding its lock, so one hung connection attempt stalled every thread).
- a connection that breaks during a transaction is discarded (never returned to the pool)
  and :class:`DatabaseUnavailable` is raised (the API answers 503). :meth:`Database.run`
  retries a whole unit of work once when the failure happened before ``COMMIT`` was sent
  (not after a timeout: the server is not answering, a retry would only double the wait).
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg2
import psycopg2.extensions

from ..domain.errors import DatabaseUnavailable
from . import db_bounds
from .db_bounds import DatabaseTimeout

logger = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATE classes that mean "the connection or the server is gone", not "your SQL is wrong".
_CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def is_connection_error(exc: BaseException, conn=None) -> bool:
    """Return True when ``exc`` means the connection is unusable (not a SQL error)."""
    if conn is not None and conn.closed:
        return True
    if isinstance(exc, psycopg2.InterfaceError):
        return True
    code = getattr(exc, "pgcode", None)
    if code and code.startswith(_CONNECTION_SQLSTATES):
        return True
    return isinstance(exc, psycopg2.OperationalError) and code is None


class _Pool:
    """The idle connections of one process; the Database's slots bound how many exist.

    Connecting and closing happen outside the lock, so a slow or hung connection attempt
    delays only the thread that needs it (psycopg2's pools connect while holding their
    lock, which made every other thread wait for it too). Returned connections are kept
    (psycopg2's ThreadedConnectionPool closes every one beyond ``minconn``, which under
    concurrency meant a new backend, with its fork and authentication, for most units of
    work); the most recently returned is lent first.
    """

    def __init__(self, connect: Callable[[], psycopg2.extensions.connection]) -> None:
        self._connect = connect
        self._idle: list[psycopg2.extensions.connection] = []
        self._lock = threading.Lock()

    def get(self) -> psycopg2.extensions.connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def put(self, conn, *, close: bool = False) -> None:
        if close or conn.closed:
            _close(conn)
            return
        with self._lock:
            self._idle.append(conn)

    def closeall(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            _close(conn)


class Database:
    """A per-process psycopg2 pool for ``url`` with bounded waits (see module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        minconn: int = 1,
        maxconn: int = 10,
        connect_timeout: float = 5,
        statement_timeout: int = 30,
        pool_timeout: float = 10,
        response_timeout: float | None = 5,
    ) -> None:
        self.url = url
        self.minconn = minconn
        self.maxconn = maxconn
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self.pool_timeout = pool_timeout
        self.response_timeout = response_timeout
        self._connection_class = type(
            "DatabaseConnection",
            (db_bounds.BoundedConnection,),
            {"connect_timeout": connect_timeout, "response_timeout": response_timeout},
        )
        self._lock = threading.Lock()
        self._pool: _Pool | None = None
        self._slots: threading.BoundedSemaphore | None = None
        self._pid: int | None = None

    @classmethod
    def from_settings(cls, settings, **overrides) -> Database:
        """Build from :class:`wharf_index.settings.Settings` (does not connect); keyword
        arguments override the pool sizes (``minconn``, ``maxconn``)."""
        sizes = {"minconn": settings.db_pool_min, "maxconn": settings.db_pool_max, **overrides}
        return cls(
            settings.database_url,
            **sizes,
            connect_timeout=settings.db_connect_timeout,
            statement_timeout=settings.db_statement_timeout,
            pool_timeout=settings.db_pool_timeout,
            response_timeout=settings.db_response_timeout,
        )

    def __repr__(self) -> str:
        return f"<Database pool {self.minconn}..{self.maxconn}>"  # the URL may hold a password

    # -- pool lifecycle ---------------------------------------------------------------------

    def _ensure_pool(self) -> tuple[_Pool, threading.Semaphore]:
        """This process's pool; the thread creating it opens ``minconn`` connections."""
        pid = os.getpid()
        with self._lock:
            created = self._pool is None or self._pid != pid
            if created:
                db_bounds.install_wait_callback()
                self._pool = _Pool(self._connect)
                self._slots = threading.BoundedSemaphore(self.maxconn)
                self._pid = pid
            pool, slots = self._pool, self._slots
        assert pool is not None and slots is not None
        if created:
            try:
                opened = [pool.get() for _ in range(self.minconn)]
            except psycopg2.Error as exc:
                raise _unavailable(exc) from None
            for conn in opened:
                pool.put(conn)
        return pool, slots

    def _connect(self) -> psycopg2.extensions.connection:
        timeout_ms = self.statement_timeout * 1000
        conn = psycopg2.connect(
            self.url,
            connection_factory=self._connection_class,
            connect_timeout=max(int(self.connect_timeout), 1),
            # plan_cache_mode: the prepared statements (adapters/base.py; nothing else is
            # prepared) use their generic plan from the first run: the custom plans
            # PostgreSQL otherwise keeps choosing for a ``= ANY(array)`` re-plan every run.
            options=f"-c timezone=UTC -c statement_timeout={timeout_ms}"
            " -c plan_cache_mode=force_generic_plan",
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
            tcp_user_timeout=int((self.response_timeout or 0) * 1000),
            application_name="wharf-index",
        )
        conn.prepared_statements = set()  # names PREPAREd in this session (adapters/base.py)
        return conn

    def close(self) -> None:
        """Close every pooled connection of this process (the next use reconnects)."""
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.closeall()
            self._pool = None
            self._slots = None

    # -- connections and transactions ---------------------------------------------------------

    limits = staticmethod(db_bounds.limits)

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        """Lend a healthy connection; it goes back to the pool, or is discarded if broken.

        Raises DatabaseUnavailable when no connection can be had within ``pool_timeout``
        or the server cannot be reached. The caller manages the transaction.
        """
        pool, slots = self._ensure_pool()
        if not slots.acquire(timeout=db_bounds.tighter(self.pool_timeout)):
            raise DatabaseUnavailable("no free database connection (pool exhausted)")
        conn = None
        try:
            conn = self._checkout(pool)
            yield conn
        except BaseException as exc:
            if conn is not None and is_connection_error(exc, conn):
                pool.put(conn, close=True)
                conn = None
            raise
        finally:
            if conn is not None:
                if not conn.closed:
                    _reset(conn)
                pool.put(conn)
            slots.release()

    def _checkout(self, pool: _Pool):
        for _ in range(self.maxconn + 1):
            try:
                conn = pool.get()
            except psycopg2.Error as exc:
                raise _unavailable(exc) from None
            if _is_alive(conn):
                return conn
            logger.info("discarding a stale database connection")
            pool.put(conn, close=True)
        raise DatabaseUnavailable("no live database connection")

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.connection]:
        """Run the block in one transaction: COMMIT on success, ROLLBACK on any exception.

        Connection failures surface as :class:`DatabaseUnavailable` (with ``.committing``
        True when the failure happened during COMMIT: the outcome is then unknown).
        """
        with self.connection() as conn:
            committing = False
            try:
                yield conn
                committing = True
                conn.commit()
            except BaseException as exc:
                if not conn.closed:
                    try:
                        conn.rollback()
                    except psycopg2.Error:
                        pass
                if isinstance(exc, psycopg2.Error) and is_connection_error(exc, conn):
                    error = _unavailable(exc)
                    error.committing = committing
                    raise error from exc
                raise

    @contextmanager
    def autocommit(self) -> Iterator[psycopg2.extensions.connection]:
        """Lend a connection in autocommit mode: each statement is its own transaction, with
        no ``BEGIN``/``COMMIT`` round trips. Only for read-only work, where this is what
        READ COMMITTED gives anyway (every statement takes its own snapshot).

        Connection failures surface as :class:`DatabaseUnavailable`.
        """
        with self.connection() as conn:
            conn.autocommit = True
            try:
                yield conn
            except psycopg2.Error as exc:
                if is_connection_error(exc, conn):
                    raise _unavailable(exc) from exc
                raise
            finally:
                if not conn.closed:
                    conn.autocommit = False

    def run(self, work: Callable[[psycopg2.extensions.connection], T]) -> T:
        """Call ``work(conn)`` in a transaction; retry once if the connection broke pre-COMMIT."""
        for attempt in (1, 2):
            try:
                with self.transaction() as conn:
                    return work(conn)
            except DatabaseUnavailable as exc:
                if attempt == 2 or exc.committing or exc.timed_out:
                    raise
                logger.warning("database connection lost; retrying once")
        raise AssertionError("unreachable")  # pragma: no cover

    def ping(self, timeout: float | None = None) -> None:
        """Run ``SELECT 1``; raise DatabaseUnavailable when the database does not answer
        (within ``timeout`` seconds in all, the wait for a pooled connection included)."""
        with self.limits(total=timeout), self.autocommit() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()


def _is_alive(conn) -> bool:
    """Return True when an idle connection has no pending EOF/notice (no round trip)."""
    if conn.closed:
        return False
    try:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN)
        return not poller.poll(0)
    except (OSError, ValueError, psycopg2.Error):
        return False


def _close(conn) -> None:
    try:
        conn.close()
    except psycopg2.Error:
        pass


def _reset(conn) -> None:
    """Leave ``conn`` idle (no open transaction) before it returns to the pool."""
    try:
        if conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            conn.rollback()
    except psycopg2.Error:
        conn.close()


def _unavailable(exc: BaseException) -> DatabaseUnavailable:
    error = DatabaseUnavailable(_describe(exc))
    error.timed_out = isinstance(exc, DatabaseTimeout)
    return error


def _describe(exc: BaseException) -> str:
    """First line of a psycopg2 error; never the DSN (which may hold a password)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
