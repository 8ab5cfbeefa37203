"""The pool and transactions: commit/rollback, re-entrancy, stale connections, limits."""

from __future__ import annotations

import threading

import psycopg2
import pytest
from wharf_index.adapters.db import Database, DatabaseUnavailable
from wharf_index.adapters.unit_of_work import UnitOfWork

from tests.conftest import terminate_sessions


def _count(db):
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM namespaces")
        return cur.fetchone()[0]


def test_commit_on_success_rollback_on_error(database):
    uow = UnitOfWork(database)
    with uow:
        uow.namespaces.create("kept", "user", "private")
    with pytest.raises(RuntimeError), uow:
        uow.namespaces.create("dropped", "user", "private")
        raise RuntimeError("boom")
    with uow:
        assert uow.namespaces.find("kept") is not None
        assert uow.namespaces.find("dropped") is None


def test_unit_of_work_is_reentrant(database):
    uow = UnitOfWork(database)
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
