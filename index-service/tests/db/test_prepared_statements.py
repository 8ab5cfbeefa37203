"""The token path's prepared statements (adapters/base.py): prepared once per connection,
kept across a rolled-back transaction, prepared again on a new connection (a terminated
session, a restarted PostgreSQL) and after the session lost them (``DEALLOCATE ALL``)."""

from __future__ import annotations

import logging

import psycopg2
import pytest
from wharf_index.adapters import migrations
from wharf_index.adapters.db import Database
from wharf_index.adapters.unit_of_work import PgUnitOfWork
from wharf_index.domain.model import SYSTEM
from wharf_index.services import accounts, principals, registries, repositories

from tests.conftest import PASSWORD, terminate_sessions

REGISTRY = "registry.test"
MISSING = "was missing from its database session"


@pytest.fixture
def missing(caplog):
    """The warnings of statements found missing from their session (none expected when the
    connection's own record says what its session holds)."""
    caplog.set_level(logging.WARNING, logger="wharf_index.adapters.base")
    return lambda: [r for r in caplog.records if MISSING in r.getMessage()]


def _server_side(uow) -> set[str]:
    """The statements PostgreSQL holds prepared for the unit of work's open session."""
    with uow.conn.cursor() as cur:
        cur.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cur.fetchall()}


def _seed(uow) -> int:
    alice = accounts.create_user(uow, "alice", "alice@example.test", PASSWORD)
    registries.add_registry(uow, REGISTRY, "http://registry.test:5000", "private", actor=SYSTEM)
    return alice.id


def _alice(uow):
    with uow:
        return uow.users.find("alice")


def _verify_lookup(uow):
    with uow.reading():
        return uow.token_checks.verification(REGISTRY, "no-such-jti")


def test_prepared_once_per_connection_and_answering_like_the_plain_query(uow):
    user_id = _seed(uow)
    with uow.reading():
        first = uow.token_checks.revalidation(user_id, None, name_hash=b"x", address="::1")
        conn = uow.conn
        assert "wharf_revalidation" in conn.prepared_statements
        assert "wharf_revalidation" in _server_side(uow)
        with conn.cursor() as cur:  # planned once, not re-planned per run (adapters/db.py)
            cur.execute("SHOW plan_cache_mode")
            assert cur.fetchone() == ("force_generic_plan",)
        again = uow.token_checks.revalidation(user_id, None, name_hash=b"x", address="::1")
        plain = uow.token_checks.credential_state(user_id, None, name_hash=b"x", address="::1")
        grants = uow.grants.for_user(user_id)
    assert first == again
    assert again.user == plain.user and again.password_changed_at == plain.password_changed_at
    assert again.grants == grants and grants.namespaces == {plain.user.namespace_id: "admin"}


def test_the_quota_lookup_of_push_tokens_is_prepared_once_per_connection(uow):
    _seed(uow)
    with uow.reading():
        first = uow.token_checks.quotas(["alice", "nobody"])
        assert "wharf_quotas" in uow.conn.prepared_statements
        assert "wharf_quotas" in _server_side(uow)
        again = uow.token_checks.quotas(["alice"])
    assert first == again and [q.namespace for q in first] == ["alice"]
    assert (first[0].chosen, first[0].limit, first[0].used) == (False, None, 0)


def test_a_statement_prepared_in_a_rolled_back_transaction_stays_prepared(uow):
    user_id = _seed(uow)
    with pytest.raises(RuntimeError), uow:
        uow.grants.for_user(user_id)  # PREPAREd in this transaction
        connection = uow.conn
        raise RuntimeError("rolled back")
    with uow:
        assert uow.conn is connection  # the pool lends the same connection again
        assert "wharf_grants" in _server_side(uow)
        assert uow.grants.for_user(user_id).namespaces  # EXECUTE, no second PREPARE


def test_a_terminated_session_is_replaced_and_prepares_again(uow, db_url, missing):
    _seed(uow)
    assert _verify_lookup(uow).registry_name == REGISTRY
    terminate_sessions(db_url)  # the pooled connection, and its prepared statements, are gone
    found = _verify_lookup(uow)
    assert found.registry_name == REGISTRY and found.token_kind is None
    assert missing() == []  # the new connection knew it had nothing prepared


def test_a_session_that_lost_its_statements_prepares_them_again(uow, missing):
    _seed(uow)
    with uow.reading():
        uow.token_checks.verification(REGISTRY, None)
        with uow.conn.cursor() as cur:
            cur.execute("DEALLOCATE ALL")  # what a pooler's DISCARD ALL does
        assert uow.token_checks.verification(REGISTRY, None).registry_name == REGISTRY
        assert "wharf_verification" in _server_side(uow)
    assert len(missing()) == 1
    with uow:  # inside a transaction the failure is not retried (the transaction is lost) ...
        with uow.conn.cursor() as cur:
            cur.execute("DEALLOCATE ALL")
        with pytest.raises(psycopg2.errors.InvalidSqlStatementName):
            uow.token_checks.verification(REGISTRY, None)
    with uow:  # ... but forgotten, so the next use prepares it again
        assert uow.token_checks.verification(REGISTRY, None).registry_name == REGISTRY


def test_a_restarted_postgresql_gets_its_statements_prepared_again(
    own_postgres, service_config, missing
):
    url = own_postgres.create_database("prepared")
    migrations.migrate(url)
    db = Database(url, minconn=0, maxconn=2)
    try:
        uow = PgUnitOfWork(db, service_config)
        _seed(uow)
        assert _verify_lookup(uow).registry_name == REGISTRY
        own_postgres.restart()
        assert _verify_lookup(uow).registry_name == REGISTRY  # no error: a new session
        with uow.reading():
            uow.token_checks.verification(REGISTRY, None)
            assert "wharf_verification" in _server_side(uow)
        assert missing() == []
    finally:
        db.close()


def test_one_statement_rechecks_a_cached_credential_and_reads_the_token_request(uow):
    user_id = _seed(uow)
    principal = principals.principal_for(uow, _alice(uow))
    repositories.create_repository(uow, principal, "alice/app", visibility="public")
    names = ["alice/app", "alice/missing"]
    checked = {"name_hash": b"x", "address": "::1"}
    with uow.reading():
        state, lookup = uow.token_checks.revalidation_issuance(
            user_id, None, **checked, service=REGISTRY, names=names
        )
        assert state == uow.token_checks.revalidation(user_id, None, **checked)
        assert lookup == uow.token_checks.issuance(REGISTRY, names)
        assert set(lookup.repositories) == {"alice/app"} and lookup.audience == REGISTRY
        # either side may be missing; the other is still read
        state, lookup = uow.token_checks.revalidation_issuance(
            user_id, None, **checked, service="no.such.registry", names=names
        )
        assert state is not None and lookup is None
        state, lookup = uow.token_checks.revalidation_issuance(
            user_id + 1000, None, **checked, service=REGISTRY, names=[]
        )
        assert state is None and lookup.repositories == {}


def test_the_pull_limit_read_is_prepared_like_the_rest_of_the_token_path(uow):
    with uow:
        uow.pull_counts.add("user:alice", 3600, 7200, 3)
    with uow.reading():
        assert uow.pull_counts.count("user:alice", 3600, 7200) == 3
        assert "wharf_pull_count" in uow.conn.prepared_statements
        assert "wharf_pull_count" in _server_side(uow)
        assert uow.pull_counts.count("user:alice", 3600, 3600) == 0  # another window
        assert uow.pull_counts.count("user:alice", 60, 7200) == 0  # another length
