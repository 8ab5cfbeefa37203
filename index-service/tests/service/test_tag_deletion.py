"""Tag deletion through the Index: DELETE /api/v1/repositories/<name>/-/tags/<tag> and
``wharf-index tag delete``, with the registry played by tests/registry_double.py."""

from __future__ import annotations

import pytest
from wharf_index.context import EXTENSION
from wharf_index.domain.model import SYSTEM
from wharf_index.services import access_tokens, events, repositories, tag_rules, webhooks
from wharf_index.services.webhooks import Owner
from wharf_protocol.events import Actor, Target, new_event

from tests.registry_double import make_agent, manifest_bytes, push_event
from tests.service.conftest import REGISTRY, basic

URL = "/api/v1/repositories/alice/app/-/tags"


@pytest.fixture
def agent(app, settings, database):
    agent = make_agent(settings, database)
    app.extensions[EXTENSION].agent = agent
    return agent


@pytest.fixture
def pushed(uow, registry, make_repo, fake):
    """alice/app (private) with tags 1, 2 and v1 at the registry and the Index."""
    make_repo("alice/app")
    for tag in ("1", "2", "v1"):
        body = manifest_bytes(tag)
        fake.push("alice/app", tag, body)
        events.ingest(uow, registry[0], [push_event("alice/app", tag, body)])
    return "alice/app"


def _tags(sql) -> list[str]:
    return [name for (name,) in sql("SELECT name FROM tags ORDER BY name")]


def _audit(sql) -> list[tuple]:
    return sql("SELECT actor_name, target, detail FROM audit_log WHERE action = 'tag.delete'")


def test_delete_calls_the_registry_with_a_delete_token_then_removes_the_record(
    client, agent, fake, pushed, sql, principal, uow, registry
):
    hook, _ = webhooks.create_webhook(
        uow, principal("alice"), Owner("repository", "alice/app"), url="https://hooks.example/"
    )
    response = client.delete(f"{URL}/1", headers=basic("alice"))
    assert response.status_code == 204, response.json
    assert [(m, p) for m, p, _ in fake.calls] == [
        ("HEAD", "/v2/alice/app/manifests/1"),
        ("DELETE", "/v2/alice/app/manifests/1"),
    ]
    claims = fake.calls[-1][2]
    assert claims.audience == REGISTRY and claims.subject == "wharf-index"
    assert {(s.name, s.actions) for s in claims.access} == {
        ("alice/app", frozenset({"delete", "pull"}))
    }
    assert sorted(fake.repositories["alice/app"]) == ["2", "v1"]
    assert _tags(sql) == ["2", "v1"]
    [(actor, target, detail)] = _audit(sql)
    assert (actor, target) == ("alice", "alice/app:1")
    assert detail["digest"].startswith("sha256:")
    assert sql("SELECT event FROM webhook_deliveries WHERE webhook_id = %s", (hook.id,)) == [
        ("tag_deleted",)
    ]
    # The registry's tag-delete event arrives afterwards: nothing left to do, no second
    # webhook delivery.
    gone = new_event("delete", Target("", "", None, "alice/app", tag="1"), actor=Actor("x"))
    result = events.ingest(uow, registry[0], [gone])
    assert result.accepted == 1
    assert _tags(sql) == ["2", "v1"]
    assert sql("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = %s", (hook.id,)) == [
        (1,)
    ]


def test_an_unreachable_registry_is_503_and_nothing_is_deleted(client, agent, fake, pushed, sql):
    fake.down = True
    response = client.delete(f"{URL}/1", headers=basic("alice"))
    assert response.status_code == 503
    assert response.json["error"]["code"] == "REGISTRY_UNAVAILABLE"
    assert REGISTRY in response.json["error"]["message"]
    assert response.headers["Retry-After"]
    assert _tags(sql) == ["1", "2", "v1"] and _audit(sql) == []
    fake.down = False
    assert "1" in fake.repositories["alice/app"]
    assert client.delete(f"{URL}/1", headers=basic("alice")).status_code == 204
    assert _tags(sql) == ["2", "v1"]


def test_a_registry_failing_to_delete_keeps_the_record(client, agent, fake, pushed, sql):
    fake.failing_deletes = True
    response = client.delete(f"{URL}/1", headers=basic("alice"))
    assert response.status_code == 503 and _tags(sql) == ["1", "2", "v1"]
    fake.failing_deletes = False
    fake.repositories["alice/app"].pop("1")  # gone there already: 404 counts as done
    again = client.delete(f"{URL}/1", headers=basic("alice"))
    assert again.status_code == 204, again.json
    assert _tags(sql) == ["2", "v1"]


def test_an_immutable_tag_is_409_and_the_registry_is_not_called(
    client, agent, fake, pushed, sql, uow, principal
):
    tag_rules.set_immutable(uow, principal("alice"), "alice/app", ["v*"])
    response = client.delete(f"{URL}/v1", headers=basic("alice"))
    assert response.status_code == 409
    assert response.json["error"] == {
        "code": "TAG_IMMUTABLE",
        "message": "tag v1 is immutable in alice/app (pattern v*)",
        "detail": {"tag": "v1", "pattern": "v*"},
    }
    assert fake.calls == [] and _tags(sql) == ["1", "2", "v1"]


def test_who_may_delete(client, agent, fake, pushed, sql, uow, principal, make_repo):
    # bob sees nothing of the private repository: 404 as for a name that does not exist.
    hidden = client.delete(f"{URL}/1", headers=basic("bob"))
    assert hidden.status_code == 404
    assert hidden.json["error"]["code"] == "REPOSITORY_UNKNOWN"
    missing = client.delete("/api/v1/repositories/alice/nothing/-/tags/1", headers=basic("bob"))
    assert missing.json == hidden.json | {
        "error": hidden.json["error"] | {"message": missing.json["error"]["message"]}
    }
    assert client.delete(f"{URL}/1").status_code == 401
    # A token for Docker (pull, push, delete) never administers: 403.
    _, secret = access_tokens.create_access_token(
        uow, principal("alice"), "t", [{"repository": "alice/*", "actions": ["*"]}]
    )
    assert client.delete(f"{URL}/1", headers=basic("alice", secret)).status_code == 403
    # Unknown tag and a tag that is no tag at all: 404.
    assert client.delete(f"{URL}/nope", headers=basic("alice")).status_code == 404
    assert client.delete(f"{URL}/.bad", headers=basic("alice")).status_code == 404
    assert fake.calls == [] and _tags(sql) == ["1", "2", "v1"]


def test_a_writer_may_push_but_not_delete_tags(client, agent, fake, pushed, uow, principal, sql):
    repositories.set_collaborator(uow, principal("alice"), "alice/app", "bob", "write")
    response = client.delete(f"{URL}/1", headers=basic("bob"))
    assert response.status_code == 403 and response.json["error"]["code"] == "DENIED"
    assert fake.calls == [] and _tags(sql) == ["1", "2", "v1"]


def test_the_registry_event_arriving_first_leaves_one_delivery_and_the_audit(
    client, agent, fake, pushed, sql, principal, uow, registry, monkeypatch
):
    hook, _ = webhooks.create_webhook(
        uow, principal("alice"), Owner("repository", "alice/app"), url="https://hooks.example/"
    )
    delete = agent.http.delete_tag

    def delete_then_event(reg, name, tag, token):
        done = delete(reg, name, tag, token)
        gone = new_event("delete", Target("", "", None, name, tag=tag), actor=Actor(SYSTEM.name))
        events.ingest(uow, registry[0], [gone])  # the event overtakes the Index's removal
        return done

    monkeypatch.setattr(agent.http, "delete_tag", delete_then_event)
    assert client.delete(f"{URL}/1", headers=basic("alice")).status_code == 204
    assert _tags(sql) == ["2", "v1"]
    assert sql("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = %s", (hook.id,)) == [
        (1,)
    ]
    assert [target for _, target, _ in _audit(sql)] == ["alice/app:1"]
