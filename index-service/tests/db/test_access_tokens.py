"""Personal access tokens and robots: shown once, hashed, scoped, expiring, revocable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
from wharf_index.domain import errors, policy
from wharf_index.domain.model import SYSTEM
from wharf_index.services import access_tokens, authentication, orgs, principals, repositories
from wharf_index.services.access import authorize
from wharf_protocol.scopes import Scope, parse_scopes

from tests.conftest import PASSWORD


@pytest.fixture
def alice(uow, make_user):
    make_user("alice")
    make_user("bob")
    principal = authentication.authenticate(uow, "alice", PASSWORD)
    repositories.create_repository(uow, principal, "alice/app")
    repositories.create_repository(uow, principal, "alice/other")
    return principal


def _sql(url, statement, params=()):
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(statement, params)
        rows = cur.fetchall() if cur.description else None
    conn.close()
    return rows


def test_token_is_shown_once_and_stored_hashed(uow, alice, db_url):
    record, token = access_tokens.create_access_token(uow, alice, "ci", ["alice/app:pull"])
    assert token.startswith("wharf_pat_") and record.public_id in token
    stored = _sql(db_url, "SELECT secret_hash::text, scopes::text FROM access_tokens")
    assert token.split("_")[-1] not in str(stored)
    assert all(token not in str(entry.detail) for entry in _audit(uow))


def _audit(uow):
    with uow:
        return uow.audit.list()


def test_token_logs_in_as_docker_password_limited_to_its_scope(uow, alice):
    _, token = access_tokens.create_access_token(uow, alice, "ci", ["alice/app:pull"])
    principal = authentication.authenticate(uow, "alice", token)
    assert principal.scopes is not None and principal.access_token_id is not None
    with uow:
        app, other = uow.repositories.get("alice/app"), uow.repositories.get("alice/other")
    assert policy.allowed_actions(principal, app) == {"pull"}
    assert policy.allowed_actions(principal, other) == set()
    granted = authorize(
        uow,
        principal,
        parse_scopes(["repository:alice/app:pull,push,delete", "repository:alice/new:push"]),
    )
    assert granted == (Scope("repository", "alice/app", frozenset({"pull"})),)
    with uow:
        assert uow.repositories.find("alice/new") is None  # no allocation without push scope


def test_token_needs_the_owner_username(uow, alice):
    _, token = access_tokens.create_access_token(uow, alice, "ci", ["*:pull"])
    with pytest.raises(errors.AuthenticationFailed):
        authentication.authenticate(uow, "bob", token)
    with pytest.raises(errors.AuthenticationFailed):
        authentication.authenticate(uow, "alice", token[:-1] + ("A" if token[-1] != "A" else "B"))


def test_revoked_and_expired_tokens_are_refused(uow, alice, db_url):
    record, token = access_tokens.create_access_token(
        uow, alice, "ci", ["alice/*:pull"], expires_in_days=1
    )
    assert authentication.authenticate(uow, "alice", token)
    _sql(db_url, "UPDATE access_tokens SET expires_at = now() - interval '1 s'")
    with pytest.raises(errors.AuthenticationFailed):
        authentication.authenticate(uow, "alice", token)
    record2, token2 = access_tokens.create_access_token(uow, alice, "ci2", ["alice/*:pull"])
    with uow:
        uow.issued_tokens.record(
            "jti-1",
            subject="alice",
            audience="r1",
            expires_at=datetime.now(UTC) + timedelta(minutes=5),
            user_id=alice.user.id,
            access_token_id=record2.id,
        )
    access_tokens.revoke_token(uow, alice, record2.id)
    access_tokens.revoke_token(uow, alice, record2.id)  # idempotent
    with pytest.raises(errors.AuthenticationFailed):
        authentication.authenticate(uow, "alice", token2)
    with uow:
        assert uow.issued_tokens.find("jti-1").revoked_at is not None


def test_last_use_is_recorded(uow, alice):
    record, token = access_tokens.create_access_token(uow, alice, "ci", ["alice/app:pull"])
    assert record.last_used_at is None
    authentication.authenticate(uow, "alice", token)
    [listed] = access_tokens.list_tokens(uow, alice)
    assert listed.last_used_at is not None


def test_token_rules(uow, alice):
    for scopes in ([], ["alice/app:fly"], ["Alice/App:pull"], [{"repository": 3}], ["alice/app:"]):
        with pytest.raises(errors.ScopeInvalid):
            access_tokens.create_access_token(uow, alice, "ci", scopes)
    with pytest.raises(errors.ValueInvalid):
        access_tokens.create_access_token(uow, alice, "ci", ["*:pull"], expires_in_days=0)
    _, token = access_tokens.create_access_token(uow, alice, "ci", ["*:pull"])
    from_token = authentication.authenticate(uow, "alice", token)
    with pytest.raises(errors.PermissionDenied):
        access_tokens.create_access_token(uow, from_token, "more", ["*:*"])
    with pytest.raises(errors.PermissionDenied):
        access_tokens.create_robot(uow, from_token, "alice", "sneaky", ["*:*"])


def test_others_cannot_see_or_revoke_my_tokens(uow, alice):
    record, _ = access_tokens.create_access_token(uow, alice, "ci", ["*:pull"])
    bob = authentication.authenticate(uow, "bob", PASSWORD)
    assert access_tokens.list_tokens(uow, bob) == []
    with pytest.raises(errors.PermissionDenied):
        access_tokens.list_tokens(uow, bob, "alice")
    with pytest.raises(errors.AccessTokenNotFound):
        access_tokens.revoke_token(uow, bob, record.id)


def test_robot_pushes_within_its_scope(uow, alice):
    robot, token = access_tokens.create_robot(uow, alice, "alice", "ci", ["alice/app:pull,push"])
    assert robot.username == "alice+ci" and robot.is_robot
    principal = authentication.authenticate(uow, "alice+ci", token)
    granted = authorize(
        uow,
        principal,
        parse_scopes(["repository:alice/app:pull,push,delete", "repository:alice/other:pull"]),
    )
    assert granted == (Scope("repository", "alice/app", frozenset({"pull", "push"})),)
    with pytest.raises(errors.AuthenticationFailed):
        authentication.authenticate(uow, "alice+ci", "a password will not do")
    assert [r.username for r in access_tokens.list_robots(uow, alice, "alice")] == ["alice+ci"]


def test_org_robots_and_robot_rules(uow, alice):
    orgs.create_org(uow, "acme", owner="alice")
    repositories.create_repository(uow, SYSTEM, "acme/app")
    alice = principals.principal_for(uow, alice.user)  # a Principal is a per-request snapshot
    robot, token = access_tokens.create_robot(uow, alice, "acme", "deploy", ["acme/*:pull"])
    principal = authentication.authenticate(uow, "acme+deploy", token)
    assert authorize(uow, principal, parse_scopes(["repository:acme/app:pull,push"])) == (
        Scope("repository", "acme/app", frozenset({"pull"})),
    )
    bob = authentication.authenticate(uow, "bob", PASSWORD)
    with pytest.raises(errors.PermissionDenied):
        access_tokens.create_robot(uow, bob, "acme", "evil", ["acme/*:pull"])
    with pytest.raises(errors.UsernameTaken):
        access_tokens.create_robot(uow, alice, "acme", "deploy", ["acme/*:pull"])
    _, second = access_tokens.create_robot_token(
        uow, alice, "acme+deploy", "second", ["acme/app:pull"]
    )
    assert authentication.authenticate(uow, "acme+deploy", second).user.id == robot.id


def test_namespace_owners_delete_robots_with_their_tokens(uow, alice, db_url):
    robot, token = access_tokens.create_robot(uow, alice, "alice", "ci", ["alice/app:pull"])
    bob = authentication.authenticate(uow, "bob", PASSWORD)
    with pytest.raises(errors.UserNotFound):  # not his robot: as if there were none
        access_tokens.delete_robot(uow, bob, "alice+ci")
    with pytest.raises(errors.UserNotFound):  # a person is no robot
        access_tokens.delete_robot(uow, alice, "bob")
    from_token = authentication.authenticate(
        uow, "alice", access_tokens.create_access_token(uow, alice, "t", ["*:*"])[1]
    )
    with pytest.raises(errors.PermissionDenied):
        access_tokens.delete_robot(uow, from_token, "alice+ci")

    access_tokens.delete_robot(uow, alice, "alice+ci")

    assert access_tokens.list_robots(uow, alice, "alice") == []
    with pytest.raises(errors.AuthenticationFailed):
        authentication.authenticate(uow, "alice+ci", token)
    assert _sql(db_url, "SELECT count(*) FROM access_tokens WHERE user_id = %s", (robot.id,)) == [
        (0,)
    ]
    logged = _sql(db_url, "SELECT action FROM audit_log WHERE target = 'alice+ci' ORDER BY id")
    assert ("robot.delete",) in logged
