"""Scenario C at the Index: DELETE /api/v1/repositories/<name>, the delete token, the
registry call (a ``responses`` double), record removal, failures and re-drives."""

from __future__ import annotations

from dataclasses import replace

import pytest
import responses
from wharf_index.context import EXTENSION
from wharf_index.domain import errors
from wharf_index.services import (
    deletion,
    events,
    housekeeping,
    registries,
    repositories,
    stars,
    tokens,
)
from wharf_index.services.tokens import TokenAuthority
from wharf_index.settings import ConfigError, Settings
from wharf_protocol.events import Target, new_event

from tests.registry_double import (
    FakeRegistry,
    key_ring,
    make_agent,
    manifest_bytes,
    push_event,
    verifier_for,
)
from tests.service.conftest import REGISTRY, basic

URL = "/api/v1/repositories"


@pytest.fixture
def agent(app, settings, database):
    """The app's RegistryAgent (no backoff sleeps), also used for direct service calls."""
    agent = make_agent(settings, database)
    app.extensions[EXTENSION].agent = agent
    return agent


@pytest.fixture
def pushed(uow, registry, make_repo, principal, fake):
    """alice/app (private) with tags 1 and 2 at the registry and the Index, starred by alice."""
    make_repo("alice/app")
    for tag in ("1", "2"):
        body = manifest_bytes(tag)
        fake.push("alice/app", tag, body)
        events.ingest(uow, registry[0], [push_event("alice/app", tag, body)])
    stars.star(uow, principal("alice"), "alice/app")
    return "alice/app"


def _rows(sql, name):
    return sql(
        "SELECT r.status, (SELECT count(*) FROM tags t WHERE t.repository_id = r.id)"
        " FROM repositories r WHERE full_name = %s",
        (name,),
    )


def test_delete_calls_registry_with_a_delete_token_then_removes_every_record(
    client, uow, settings, database, registry, agent, fake, pushed, sql, index_client
):
    response = client.delete(f"{URL}/alice/app", headers=basic("alice"))
    assert response.status_code == 202, response.json
    assert response.json["status"] == "deleted" and response.json["full_name"] == "alice/app"
    [(method, path, claims)] = fake.calls
    assert (method, path) == ("DELETE", "/v2/_wharf/repositories/alice/app")
    assert claims.audience == REGISTRY and claims.subject == "wharf-index"
    assert {(s.type, s.name, s.actions) for s in claims.access} == {
        ("repository", "alice/app", frozenset({"delete", "pull"}))
    }
    assert claims.expires_at - claims.issued_at == 60
    # Recorded as issued: the registry's verification call accepts it.
    verified = tokens.verify_for_registry(
        uow,
        TokenAuthority.from_settings(settings, key_ring(settings, database)),
        REGISTRY,
        registry[1],
        fake.tokens[0],
    )
    assert verified.token_id == claims.token_id
    assert "alice/app" not in fake.repositories
    assert _rows(sql, "alice/app") == []
    assert sql("SELECT count(*) FROM stars") == [(0,)]
    assert sql("SELECT count(*) FROM manifests") == [(0,)]
    # The registry's repository-delete event arrives later: accepted, nothing left to do.
    index_client.post_events([new_event("delete", Target("", "", None, "alice/app"))])
    assert _rows(sql, "alice/app") == []


def test_registry_down_keeps_deleting_then_redrive_completes(
    client, uow, agent, fake, pushed, sql, get_token, claims_of
):
    fake.down = True
    response = client.delete(f"{URL}/alice/app", headers=basic("alice"))
    assert response.status_code == 202 and response.json["status"] == "deleting"
    assert _rows(sql, "alice/app") == [("deleting", 2)]
    [(attempts, error)] = sql("SELECT attempts, last_error FROM repository_deletions")
    assert attempts == 1 and "registry.test" in error
    # Unusable meanwhile: a token request grants no pull or push on it (delete only).
    token = get_token("repository:alice/app:pull,push,delete", user="alice")
    [scope] = claims_of(token.json["token"]).access
    assert scope.actions == frozenset({"delete"})
    shown = client.get(f"{URL}/alice/app", headers=basic("alice"))
    assert shown.status_code == 200 and shown.json["status"] == "deleting"
    fake.down = False
    [result] = deletion.redrive(uow, agent)  # due at once after a failed attempt
    assert result.completed and "alice/app" not in fake.repositories
    assert _rows(sql, "alice/app") == []


class Crash(BaseException):
    """The process dying between two steps."""


def test_crash_between_mark_and_call_is_finished_by_redrive(
    uow, agent, fake, pushed, sql, principal, monkeypatch
):
    def crash(*args, **kwargs):
        raise Crash()

    monkeypatch.setattr(registries, "holders", crash)
    with pytest.raises(Crash):
        deletion.request_deletion(uow, agent, principal("alice"), "alice/app")
    monkeypatch.undo()
    assert fake.calls == [] and _rows(sql, "alice/app") == [("deleting", 2)]
    assert deletion.redrive(uow, agent) == []  # the crashed driver's lease still holds
    [result] = deletion.redrive(uow, agent, due_only=False)  # `wharf-index repo redrive`
    assert result.completed and [c[0] for c in fake.calls] == ["DELETE"]
    assert _rows(sql, "alice/app") == []


def test_crash_after_the_registry_call_is_finished_by_the_event(
    uow, agent, fake, pushed, sql, principal, registry, monkeypatch
):
    def crash(*args, **kwargs):
        raise Crash()

    monkeypatch.setattr(deletion, "_remove_records", crash)
    with pytest.raises(Crash):
        deletion.request_deletion(uow, agent, principal("alice"), "alice/app")
    assert "alice/app" not in fake.repositories and _rows(sql, "alice/app") == [("deleting", 2)]
    events.ingest(uow, registry[0], [new_event("delete", Target("", "", None, "alice/app"))])
    assert _rows(sql, "alice/app") == []


def test_repeated_delete_is_idempotent(client, agent, fake, pushed, sql):
    fake.down = True
    for attempt in (1, 2):
        response = client.delete(f"{URL}/alice/app", headers=basic("alice"))
        assert response.status_code == 202 and response.json["status"] == "deleting"
        assert sql("SELECT attempts FROM repository_deletions") == [(attempt,)]
    fake.down = False
    fake.repositories.pop("alice/app")  # the registry had already deleted it: 202 anyway
    response = client.delete(f"{URL}/alice/app", headers=basic("alice"))
    assert response.status_code == 202 and response.json["status"] == "deleted"
    assert client.delete(f"{URL}/alice/app", headers=basic("alice")).status_code == 404


def test_namespace_without_registry_removes_records_directly(
    client, uow, users, make_repo, settings, agent, sql
):
    registries.add_registry(uow, "bobs", "http://bobs.test:5000", "private", ["bob"])
    make_repo("alice/app")
    with responses.RequestsMock() as mock:  # any call to a registry would fail the test
        response = client.delete(f"{URL}/alice/app", headers=basic("alice"))
        assert len(mock.calls) == 0
    assert response.status_code == 202 and response.json["status"] == "deleted"
    assert _rows(sql, "alice/app") == []


def test_only_the_registries_holding_the_repository_are_called(
    uow, users, make_repo, settings, database, agent, principal
):
    alices, _ = registries.add_registry(uow, "alices", "http://alices.test", "private", ["alice"])
    hub, _ = registries.add_registry(uow, "hub", "http://hub.test", "private")  # unrestricted
    make_repo("alice/app")
    make_repo("alice/both")
    events.ingest(
        uow,
        hub,
        [
            push_event("alice/app", "1", manifest_bytes("1")),
            push_event("alice/both", "1", manifest_bytes("1")),
        ],
    )
    events.ingest(uow, alices, [push_event("alice/both", "2", manifest_bytes("2"))])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        first = FakeRegistry(mock, "http://alices.test", verifier_for(settings, database), "alices")
        second = FakeRegistry(mock, "http://hub.test", verifier_for(settings, database), "hub")
        for name in ("alice/app", "alice/both"):
            result = deletion.request_deletion(uow, agent, principal("alice"), name)
            assert result.completed
    assert [c[1] for c in first.calls] == ["/v2/_wharf/repositories/alice/both"]
    assert [c[1] for c in second.calls] == [
        f"/v2/_wharf/repositories/alice/{n}" for n in ("app", "both")
    ]


def test_only_repository_admins_may_delete(client, uow, users, make_repo, agent, principal):
    make_repo("alice/public", visibility="public")
    make_repo("alice/private")
    repositories.set_collaborator(uow, principal("alice"), "alice/public", "bob", "write")
    assert client.delete(f"{URL}/alice/public").status_code == 401
    refused = client.delete(f"{URL}/alice/public", headers=basic("bob"))
    assert refused.status_code == 403 and refused.json["error"]["code"] == "DENIED"
    hidden = client.delete(f"{URL}/alice/private", headers=basic("bob"))
    assert hidden.status_code == 404 and hidden.json["error"]["code"] == "REPOSITORY_UNKNOWN"
    with pytest.raises(errors.RepositoryNotFound):
        deletion.request_deletion(uow, agent, principal("bob"), "alice/private")
    assert client.get(f"{URL}/alice/private", headers=basic("alice")).json["status"] == "active"


def test_housekeeping_redrives_stuck_deletions(uow, agent, fake, pushed, principal, sql):
    fake.down = True
    deletion.request_deletion(uow, agent, principal("alice"), "alice/app")
    redrive = housekeeping.Task(housekeeping.REDRIVE, 60, lambda: deletion.redrive(uow, agent))
    keeper = housekeeping.Housekeeper(lambda: uow, [redrive])
    assert keeper.run_once() == [housekeeping.REDRIVE]
    assert _rows(sql, "alice/app") == [("deleting", 2)]
    fake.down = False
    assert keeper.run_once() == []  # ran less than an interval ago
    sql("UPDATE housekeeping_schedule SET next_run_at = now()")
    assert keeper.run_once() == [housekeeping.REDRIVE]
    assert _rows(sql, "alice/app") == []


def test_housekeeping_thread_per_setting_built_unstarted_then_started_and_stopped(
    uow, settings, agent
):
    off = replace(settings, deletion_redrive_interval=0, prune_interval=0, retention_interval=0)
    assert housekeeping.housekeeper(off, lambda: uow, agent) is None
    on = replace(
        settings, deletion_redrive_interval=600, prune_interval=3600, retention_interval=3600
    )
    keeper = housekeeping.housekeeper(on, lambda: uow, agent)
    assert keeper.tick == 600 and not keeper._thread.is_alive()
    assert [(t.name, t.interval) for t in keeper.tasks] == [
        (housekeeping.REDRIVE, 600),
        (housekeeping.PRUNE, 3600),
        (housekeeping.RETENTION, 3600),
    ]
    assert keeper.start() is keeper and keeper._thread.is_alive()
    keeper.stop(timeout=30)
    assert not keeper._thread.is_alive()


def test_redrive_interval_setting(db_url):
    base = {"INDEX_DATABASE_URL": db_url, "INDEX_SECRET_KEY": "x" * 32}
    assert Settings.from_env(base).deletion_redrive_interval == 60
    zero = Settings.from_env(base | {"INDEX_DELETION_REDRIVE_INTERVAL": "0"})
    assert zero.deletion_redrive_interval == 0
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(base | {"INDEX_DELETION_REDRIVE_INTERVAL": "-1"})
    assert "INDEX_DELETION_REDRIVE_INTERVAL" in raised.value.problems
