"""The pool and transactions: commit/rollback, re-entrancy, stale connections, limits, and
the client-side bounds on a server that stopped answering."""

from __future__ import annotations

import threading
import time

import psycopg2
import pytest
from wharf_index.adapters import db_bounds
from wharf_index.adapters.db import Database, DatabaseUnavailable
from wharf_index.adapters.unit_of_work import PgUnitOfWork

from tests.conftest import terminate_sessions
from tests.stopped_postgres import suspended


def _count(db):
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM namespaces")
        return cur.fetchone()[0]


def test_commit_on_success_rollback_on_error(database):
    uow = PgUnitOfWork(database)
    with uow:
        uow.namespaces.create("kept", "user", "private")
    with pytest.raises(RuntimeError), uow:
        uow.namespaces.create("dropped", "user", "private")
        raise RuntimeError("boom")
    with uow:
        assert uow.namespaces.find("kept") is not None
        assert uow.namespaces.find("dropped") is None


def test_unit_of_work_is_reentrant(database):
    uow = PgUnitOfWork(database)
    with uow:
        uow.namespaces.create("outer", "user", "private")
        with uow:
            uow.namespaces.create("inner", "user", "private")
        assert uow.conn is not None  # still inside the outer transaction
        with pytest.raises(ValueError), uow:
            raise ValueError("an inner failure propagates; the outer block decides")
    assert _count(database) == 2


def test_sql_errors_roll_back_and_the_connection_stays_usable(database):
    with pytest.raises(psycopg2.errors.UndefinedTable), database.transaction() as conn:
        conn.cursor().execute("SELECT * FROM no_such_table")
    assert _count(database) == 0


def test_stale_connections_are_discarded_after_server_side_termination(database, db_url):
    assert _count(database) == 0
    terminate_sessions(db_url)  # what a PostgreSQL restart does to pooled connections
    assert _count(database) == 0  # no error: the dead connection is noticed and replaced


def test_run_retries_once_when_the_connection_breaks_mid_transaction(database, db_url):
    attempts = []

    def work(conn):
        attempts.append(1)
        if len(attempts) == 1:
            terminate_sessions(db_url)
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            return cur.fetchone()[0]

    assert database.run(work) == 1
    assert len(attempts) == 2


def test_broken_connection_inside_transaction_is_unavailable(database, db_url):
    with pytest.raises(DatabaseUnavailable), database.transaction() as conn:
        terminate_sessions(db_url)
        conn.cursor().execute("SELECT 1")
    assert _count(database) == 0


def test_exhausted_pool_fails_instead_of_hanging(db_url):
    db = Database(db_url, minconn=0, maxconn=1, pool_timeout=1)
    held = threading.Event()
    release = threading.Event()

    def hold():
        with db.connection():
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        held.wait(10)
        with pytest.raises(DatabaseUnavailable, match="exhausted"), db.connection():
            pass
    finally:
        release.set()
        thread.join()
        db.close()


def test_pool_is_recreated_in_a_forked_child(database):
    assert _count(database) == 0
    first_pool = database._pool
    database._pid = -1  # as if this process were a fork of the one that built the pool
    assert _count(database) == 0
    assert database._pool is not first_pool


def test_readyz_with_a_database(client):
    assert client.get("/readyz").json == {"status": "ok", "database": "ok"}


def test_a_stopped_server_is_given_up_within_the_bounds_and_then_reused(own_postgres):
    url = own_postgres.create_database("bounded")
    db = Database(url, minconn=0, maxconn=2, connect_timeout=1, response_timeout=1, pool_timeout=1)
    attempts = []

    def work(conn):
        attempts.append(1)
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            return cur.fetchone()[0]

    try:
        assert db.run(work) == 1
        with suspended(own_postgres):
            started = time.monotonic()
            with pytest.raises(DatabaseUnavailable, match="no answer") as raised:
                db.run(work)  # the pooled connection: the query is never answered
            assert raised.value.timed_out and len(attempts) == 2  # not retried: no use
            with pytest.raises(DatabaseUnavailable, match="no answer"):
                db.ping()  # a new connection: the server never completes the start-up
            assert time.monotonic() - started < 10  # two bounded waits, never a hang
            started = time.monotonic()
            with pytest.raises(DatabaseUnavailable), db.limits(total=0.2):
                db.ping()
            assert time.monotonic() - started < 1
        assert db.run(work) == 1  # resumed: the abandoned connection was closed, not reused
    finally:
        db.close()


def test_limits_only_tighten_and_are_restored():
    with Database.limits(wait=2):
        with Database.limits(wait=5, total=60):
            assert db_bounds.tighter(10) == 2
            assert db_bounds.tighter(None) == 2
        assert db_bounds.tighter(10) == 2
        with Database.limits(total=0.5):
            assert db_bounds.tighter(10) <= 0.5
    assert db_bounds.tighter(10) == 10 and db_bounds.tighter(None) is None


def test_a_hung_connection_attempt_stalls_only_its_own_thread(own_postgres):
    url = own_postgres.create_database("bounded")
    db = Database(url, minconn=0, maxconn=2, connect_timeout=4, response_timeout=4)
    connecting = threading.Thread(target=lambda: pytest.raises(DatabaseUnavailable, db.ping))
    try:
        with suspended(own_postgres):
            connecting.start()  # a new connection: the server never completes the start-up
            time.sleep(0.2)  # let it take the pool's lock if connecting held one
            started = time.monotonic()
            with pytest.raises(DatabaseUnavailable):
                db.ping(timeout=0.5)
            assert time.monotonic() - started < 2  # not the other thread's 4 s
            connecting.join(10)
        db.ping()
    finally:
        db.close()
