"""Users: creation rules, authentication, passwords, administrators (throttling:
test_login_throttle.py)."""

from __future__ import annotations

import logging

import psycopg2
import pytest
from wharf_index.domain import errors
from wharf_index.domain.model import Principal
from wharf_index.services import accounts, authentication, orgs

from tests.conftest import PASSWORD


def test_create_user_makes_a_namespace(uow, make_user):
    user = make_user("alice")
    assert user.username == "alice" and not user.is_admin and not user.is_robot
    with uow:
        namespace = uow.namespaces.get("alice")
    assert namespace.kind == "user" and namespace.id == user.namespace_id


def test_password_is_stored_hashed_only(uow, make_user, db_url):
    make_user("alice")
    conn = psycopg2.connect(db_url)
    with conn.cursor() as cur:
        cur.execute("SELECT password_hash FROM users WHERE username = 'alice'")
        stored = cur.fetchone()[0]
    conn.close()
    assert stored.startswith("$scrypt$") and PASSWORD not in stored


@pytest.mark.parametrize("name", ["api", "v2", "root", "Bad", "a/b", "x' OR '1'='1"])
def test_bad_and_reserved_names_are_refused(uow, name):
    with pytest.raises(errors.NameInvalid):
        accounts.create_user(uow, name, "x@example.test", PASSWORD)


def test_the_system_may_create_the_first_administrator_admin(uow):
    user = accounts.create_user(uow, "admin", "admin@example.test", PASSWORD, admin=True)
    assert user.username == "admin" and user.is_admin


def test_duplicate_names_and_emails(uow, make_user):
    make_user("alice")
    with pytest.raises(errors.UsernameTaken):
        accounts.create_user(uow, "alice", "other@example.test", PASSWORD)
    with pytest.raises(errors.StateConflict):
        accounts.create_user(uow, "bob", "ALICE@example.test", PASSWORD)
    orgs.create_org(uow, "acme", owner="alice")
    with pytest.raises(errors.UsernameTaken):
        accounts.create_user(uow, "acme", "acme@example.test", PASSWORD)


def test_bad_email_and_password(uow):
    with pytest.raises(errors.ValueInvalid):
        accounts.create_user(uow, "bob", "not-an-email", PASSWORD)
    with pytest.raises(errors.PasswordInvalid):
        accounts.create_user(uow, "bob", "bob@example.test", "short")


def test_authenticate(uow, make_user):
    make_user("alice")
    principal = authentication.authenticate(uow, "alice", PASSWORD)
    assert principal.user.username == "alice" and principal.scopes is None
    assert principal.grants.namespaces == {principal.user.namespace_id: "admin"}
    for name, password in (("alice", "wrong password"), ("nobody", PASSWORD), ("", "")):
        with pytest.raises(errors.AuthenticationFailed):
            authentication.authenticate(uow, name, password)


def test_disabled_users_and_robots_cannot_log_in(uow, make_user):
    make_user("alice")
    accounts.set_disabled(uow, "alice", True)
    with pytest.raises(errors.AuthenticationFailed):
        authentication.authenticate(uow, "alice", PASSWORD)
    accounts.set_disabled(uow, "alice", False)
    assert authentication.authenticate(uow, "alice", PASSWORD).user.username == "alice"


def test_set_and_change_password(uow, make_user):
    make_user("alice")
    accounts.set_password(uow, "alice", "a brand new password")
    with pytest.raises(errors.AuthenticationFailed):
        authentication.authenticate(uow, "alice", PASSWORD)
    accounts.change_password(uow, "alice", "a brand new password", "yet another password")
    assert authentication.authenticate(uow, "alice", "yet another password")
    with pytest.raises(errors.AuthenticationFailed):
        accounts.change_password(uow, "alice", "wrong password", "whatever else")


def test_only_self_or_admin_may_set_a_password(uow, make_user):
    make_user("alice")
    bob = make_user("bob")
    with pytest.raises(errors.PermissionDenied):
        accounts.set_password(uow, "alice", "bob's choice here", actor=Principal(user=bob))


def test_admins(uow, make_user):
    make_user("alice")
    assert accounts.set_admin(uow, "alice", True).is_admin
    assert authentication.authenticate(uow, "alice", PASSWORD).is_admin
    assert not accounts.set_admin(uow, "alice", False).is_admin
    bob = make_user("bob")
    with pytest.raises(errors.PermissionDenied):
        accounts.set_admin(uow, "alice", True, actor=Principal(user=bob))
    with pytest.raises(errors.PermissionDenied):
        accounts.create_user(
            uow, "carol", "c@example.test", PASSWORD, admin=True, actor=Principal(user=bob)
        )


def test_delete_user_removes_namespace_but_not_the_last_org_owner(uow, make_user):
    make_user("alice")
    make_user("bob")
    orgs.create_org(uow, "acme", owner="alice")
    with pytest.raises(errors.StateConflict, match="last owner"):
        accounts.delete_user(uow, "alice")
    accounts.delete_user(uow, "bob")
    with uow:
        assert uow.users.find("bob") is None and uow.namespaces.find("bob") is None
    with pytest.raises(errors.UserNotFound):
        accounts.delete_user(uow, "bob")


def test_list_users_paginates(uow, make_user):
    for name in ("carol", "alice", "bob"):
        make_user(name)
    first = accounts.list_users(uow, limit=2)
    assert [u.username for u in first] == ["alice", "bob"]
    assert [u.username for u in accounts.list_users(uow, after="bob")] == ["carol"]


def test_list_users_filters_by_a_part_of_the_name(uow, make_user):
    for name in ("alice", "malik", "bob"):
        make_user(name)
    assert [u.username for u in accounts.list_users(uow, containing="LI")] == ["alice", "malik"]
    assert [u.username for u in accounts.list_users(uow, containing="li", after="alice")] == [
        "malik"
    ]
    assert accounts.list_users(uow, containing="%") == []


def test_passwords_never_reach_the_logs(uow, make_user, caplog):
    with caplog.at_level(logging.DEBUG):
        make_user("alice")
        authentication.authenticate(uow, "alice", PASSWORD)
        with pytest.raises(errors.AuthenticationFailed):
            authentication.authenticate(uow, "alice", "wrong password 123")
    assert PASSWORD not in caplog.text and "wrong password 123" not in caplog.text


def test_audit_log_records_account_changes(uow, make_user):
    make_user("alice")
    accounts.set_admin(uow, "alice", True)
    with uow:
        actions = [e.action for e in uow.audit.list()]
    assert actions[:2] == ["user.grant_admin", "user.create"]


def test_audit_entries_filter_by_action_and_time_range(uow, make_user, sql):
    from datetime import UTC, datetime, timedelta

    from wharf_index.domain.model import SYSTEM
    from wharf_index.services import audit_log

    make_user("alice")
    make_user("bob")
    accounts.set_admin(uow, "alice", True)
    sql("UPDATE audit_log SET at = '2020-01-01T00:00:00Z' WHERE target = 'bob'")

    def actions(**filters) -> list[tuple[str, str]]:
        page = audit_log.list_entries(uow, SYSTEM, **filters)
        return [(e.action, e.target) for e in page.items]

    assert actions(action="user.create") == [("user.create", "bob"), ("user.create", "alice")]
    old = datetime(2020, 1, 1, tzinfo=UTC)
    assert actions(until=old + timedelta(seconds=1)) == [("user.create", "bob")]
    assert actions(since=old + timedelta(seconds=1), action="user.create") == [
        ("user.create", "alice")
    ]
    with pytest.raises(errors.ValueInvalid):
        audit_log.list_entries(uow, SYSTEM, since=old, until=old)


def test_an_email_held_by_another_user_changes_nothing_and_keeps_the_transaction(uow, make_user):
    make_user("alice")
    bob = make_user("bob")
    with uow:  # the unique index decides (no read first a concurrent change could pass)
        assert uow.users.set_email(bob.id, "ALICE@example.test") is False
        assert uow.users.set_email(bob.id, "bob2@example.test") is True  # still usable
    assert accounts.get_user(uow, "bob").email == "bob2@example.test"
    with pytest.raises(errors.StateConflict):
        accounts.change_email(uow, "bob", PASSWORD, "Alice@Example.test")
    with pytest.raises(errors.ValueInvalid):
        accounts.change_email(uow, "bob", PASSWORD, "not-an-email")
    with pytest.raises(errors.AuthenticationFailed):
        accounts.change_email(uow, "bob", "wrong password", "bob3@example.test")
    assert accounts.get_user(uow, "bob").email == "bob2@example.test"
    assert accounts.change_email(uow, "bob", PASSWORD, "bob3@example.test").email == (
        "bob3@example.test"
    )
