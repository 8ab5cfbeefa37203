"""Failed logins counted per (name, client address): no lock-out of others, no way to tell
real names from unknown ones, access tokens throttled too, old rows pruned.

The test configuration locks from the 3rd consecutive failure for 30 s (doubling, at most
600 s).
"""

from __future__ import annotations

from dataclasses import replace

import psycopg2
import pytest
from wharf_index.adapters.base import Store
from wharf_index.adapters.unit_of_work import PgUnitOfWork
from wharf_index.domain import errors
from wharf_index.services import access_tokens, accounts, authentication, login_throttle, principals
from wharf_index.services.passwords import PasswordHasher

from tests.conftest import PASSWORD

HOME, AWAY = "192.0.2.1", "198.51.100.7"


def _outcome(uow, name, secret, address=HOME) -> str:
    try:
        authentication.authenticate(uow, name, secret, address=address)
    except errors.LoginThrottled as exc:
        assert exc.retry_after > 0
        return "429"
    except errors.AuthenticationFailed:
        return "401"
    return "200"


@pytest.fixture
def sql(db_url):
    conn = psycopg2.connect(db_url)
    conn.autocommit = True

    def run(statement, params=None):
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else None

    yield run
    conn.close()


def test_a_lock_out_holds_only_for_the_address_that_failed(uow, make_user, sql):
    make_user("alice")
    assert [_outcome(uow, "alice", "wrong password") for _ in range(3)] == ["401"] * 3
    assert _outcome(uow, "alice", PASSWORD) == "429"  # this address: even the right one waits
    assert _outcome(uow, "alice", "wrong password") == "429"
    assert _outcome(uow, "alice", PASSWORD, address=AWAY) == "200"  # nobody locks alice out
    sql("UPDATE login_failures SET locked_until = now() - interval '1 s'")
    assert _outcome(uow, "alice", PASSWORD) == "200"  # a success resets the pair
    assert sql("SELECT count(*) FROM login_failures") == [(0,)]


def test_unknown_names_answer_exactly_like_real_ones(uow, make_user):
    make_user("alice")
    for name in ("alice", "nobody"):
        sequence = [_outcome(uow, name, "wrong password") for _ in range(5)]
        assert sequence == ["401", "401", "401", "429", "429"], name
        assert _outcome(uow, name, PASSWORD) == "429"
        assert _outcome(uow, name, "wrong password", address=AWAY) == "401"


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(n=1024)
        self.checks = 0

    def _check(self, password, encoded):
        self.checks += 1
        return super()._check(password, encoded)


def test_unknown_names_cost_the_same_work(database, service_config, make_user, monkeypatch):
    """The same SQL statements, in the same order, and one password hash per attempt for
    a real name and an unknown one, up to and through the lock-out."""
    make_user("alice")
    statements: list[str] = []
    for method in ("_one", "_all", "_exec"):
        original = getattr(Store, method)

        def recording(self, sql, params=None, _original=original):
            statements.append(sql)
            return _original(self, sql, params)

        monkeypatch.setattr(Store, method, recording)
    work = {}
    for name in ("alice", "nobody"):
        hasher = CountingHasher()
        config = replace(service_config, hasher=hasher)
        statements.clear()
        outcomes = [
            _outcome(PgUnitOfWork(database, config), name, "wrong password") for _ in range(4)
        ]
        work[name] = (outcomes, hasher.checks, list(statements))
    assert work["alice"] == work["nobody"]
    assert work["alice"][:2] == (["401", "401", "401", "429"], 3)


def test_the_lock_out_grows_and_rows_are_forgotten(uow, sql):
    key = login_throttle.name_hash("alice")
    with uow:
        locks = [
            uow.login_failures.record(key, HOME, threshold=2, delay=10, max_delay=35)
            for _ in range(5)
        ]
    assert [f for f, _ in locks] == [1, 2, 3, 4, 5]
    assert locks[0][1] is None
    spans = [(lock - locks[1][1]).total_seconds() for _, lock in locks[1:]]
    assert spans[0] == 0 and 9 <= spans[1] <= 11 and 24 <= spans[2] <= 26 and 24 <= spans[3] <= 26
    # kept for max_delay after the lock-out ends, then pruned by the next failure anywhere
    [(kept,)] = sql("SELECT extract(epoch FROM forget_at - locked_until) FROM login_failures")
    assert kept == 35
    sql("UPDATE login_failures SET forget_at = now() - interval '1 s'")
    with uow:
        assert uow.login_failures.state(key, HOME) == (0, 0)  # forgotten, even before pruning
        uow.login_failures.record(
            login_throttle.name_hash("bob"), AWAY, threshold=2, delay=10, max_delay=35
        )
    assert sql("SELECT address FROM login_failures") == [(AWAY,)]


def test_names_of_any_shape_are_counted(uow):
    for name in ("x" * 5000, "nul\x00name", "\udcff"):
        assert [_outcome(uow, name, "wrong password") for _ in range(4)] == [
            "401",
            "401",
            "401",
            "429",
        ]


def test_access_token_guessing_is_throttled(uow, make_user):
    user = make_user("alice")
    _, secret = access_tokens.create_access_token(
        uow, principals.principal_for(uow, user), "ci", ["alice/*:pull"]
    )
    guess = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    assert [_outcome(uow, "alice", guess) for _ in range(3)] == ["401"] * 3
    assert _outcome(uow, "alice", secret) == "429"
    assert _outcome(uow, "alice", secret, address=AWAY) == "200"

    def bearer(token, address=HOME):
        try:
            authentication.authenticate_bearer(uow, token, address=address)
        except errors.LoginThrottled:
            return "429"
        except errors.AuthenticationFailed:
            return "401"
        return "200"

    assert [bearer(guess) for _ in range(3)] == ["401"] * 3
    assert bearer(secret) == "429"
    assert bearer(secret, address=AWAY) == "200"


def test_a_password_reset_lifts_the_lock_outs_of_the_name(uow, make_user):
    make_user("alice")
    for _ in range(3):
        _outcome(uow, "alice", "wrong password")
    accounts.set_password(uow, "alice", "a brand new password")
    assert _outcome(uow, "alice", "a brand new password") == "200"
