"""Webhook deliveries queued by registry events and repository deletion, in the transaction
that applies them; pruning of what was delivered."""

from __future__ import annotations

import json
import select
import time
from dataclasses import replace

import psycopg2
import pytest
from wharf_index.domain.model import SYSTEM
from wharf_index.services import housekeeping, repositories, webhooks
from wharf_index.services.webhooks import Owner
from wharf_protocol import mediatypes
from wharf_protocol.events import EVENTS_MEDIA_TYPE, Actor, Target, dump_envelope, new_event

from tests.service.conftest import REGISTRY
from tests.service.test_events import MANIFEST, OTHER, event, push

URL = "https://hooks.example.com/"
DAY = 24 * 3600


@pytest.fixture
def app_repo(make_repo):
    return make_repo("alice/app", "public", "the app")


@pytest.fixture
def hook(uow, principal, app_repo):
    """hook(owner="alice/app", **options) -> a webhook made through the service (by the
    owner's namespace's user)."""

    def make(owner: str = "alice/app", **options):
        kind = "repository" if "/" in owner else "namespace"
        who = principal(owner.split("/")[0])
        made, _ = webhooks.create_webhook(uow, who, Owner(kind, owner), url=URL, **options)
        return made

    return make


def _deliveries(sql):
    """[(webhook id, event, body as JSON)] in queue order."""
    rows = sql("SELECT webhook_id, event, body FROM webhook_deliveries ORDER BY id")
    return [(webhook_id, name, json.loads(body)) for webhook_id, name, body in rows]


def test_a_tag_push_queues_one_delivery_per_matching_webhook(index_client, hook, sql):
    everything = hook()
    cloud = hook(fmt="cloudevents", events=["tag_pushed"])
    hook(events=["tag_deleted"])  # not subscribed
    namespace = hook("alice")
    hook("bob")  # another namespace
    inactive = hook()
    sql("UPDATE webhooks SET active = false WHERE id = %s", (inactive.id,))
    index_client.post_events([push()])
    queued = _deliveries(sql)
    assert [(w, e) for w, e, _ in queued] == [
        (everything.id, "tag_pushed"),
        (cloud.id, "tag_pushed"),
        (namespace.id, "tag_pushed"),
    ]
    dockerhub = queued[0][2]
    assert dockerhub["push_data"]["tag"] == "latest"
    assert dockerhub["push_data"]["digest"] == MANIFEST
    assert dockerhub["push_data"]["pusher"] == "alice"
    assert dockerhub["push_data"]["registry"] == REGISTRY
    assert dockerhub["push_data"]["media_type"] == mediatypes.OCI_MANIFEST
    assert dockerhub["repository"]["repo_name"] == "alice/app"
    assert dockerhub["repository"]["description"] == "the app"
    ce = queued[1][2]
    assert (ce["type"], ce["subject"]) == ("io.wharf.tag.pushed", "alice/app:latest")
    assert ce["data"]["digest"] == MANIFEST and ce["data"]["registry"] == REGISTRY
    ids = [body.get("delivery_id") or body.get("id") for _, _, body in queued]
    assert len(set(ids)) == 3
    tokens = sql("SELECT callback_token FROM webhook_deliveries")
    assert len({t for (t,) in tokens}) == 3


def test_pushes_by_digest_pulls_and_blobs_queue_nothing(index_client, hook, sql):
    hook()
    index_client.post_events(
        [
            push(tag=""),
            event("pull", tag="latest", media_type=mediatypes.OCI_MANIFEST, digest=MANIFEST),
            event("push", digest="sha256:" + "d" * 64, media_type=mediatypes.OCI_LAYER_GZIP),
        ]
    )
    assert _deliveries(sql) == []


def test_the_tag_pattern_filters_tag_events(index_client, hook, sql):
    releases = hook(tag_pattern="v[0-9]*")
    every = hook()
    index_client.post_events([push(tag="latest"), push(tag="v1.2"), push(tag="V1")])
    queued = [(w, body["push_data"]["tag"]) for w, _, body in _deliveries(sql)]
    assert queued == [
        (every.id, "latest"),
        (releases.id, "v1.2"),
        (every.id, "v1.2"),
        (every.id, "V1"),
    ]


def test_a_deleted_tag_queues_tag_deleted(index_client, hook, sql):
    index_client.post_events([push(tag="v1")])
    made = hook(events=["tag_deleted"], fmt="cloudevents")
    index_client.post_events([event("delete", tag="v1"), event("delete", tag="never-there")])
    [(webhook_id, name, body)] = _deliveries(sql)
    assert (webhook_id, name) == (made.id, "tag_deleted")
    assert body["type"] == "io.wharf.tag.deleted" and body["subject"] == "alice/app:v1"


def test_a_deleted_manifest_queues_tag_deleted_for_each_tag_it_took(index_client, hook, sql):
    index_client.post_events([push(tag="v1"), push(tag="v2"), push(tag="other", digest=OTHER)])
    hook(events=["tag_deleted"])
    index_client.post_events([event("delete", digest=MANIFEST), event("delete", digest=MANIFEST)])
    deleted = [
        (name, body["push_data"]["tag"], body["push_data"]["digest"])
        for _, name, body in _deliveries(sql)
    ]
    assert deleted == [("tag_deleted", "v1", MANIFEST), ("tag_deleted", "v2", MANIFEST)]


def test_a_duplicate_event_queues_nothing(index_client, hook, sql):
    hook()
    once = push()
    index_client.post_events([once])
    index_client.post_events([once, replace(once, id=once.id)])
    assert len(_deliveries(sql)) == 1


@pytest.fixture
def failing_tag(sql):
    """Make the database refuse the tag ``boom`` (a failure late in an envelope)."""
    sql(
        "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS"
        " $$BEGIN IF NEW.name = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END$$"
    )
    sql(
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON tags FOR EACH ROW"
        " EXECUTE FUNCTION refuse_boom()"
    )
    yield
    sql("DROP TRIGGER refuse_boom ON tags")
    sql("DROP FUNCTION refuse_boom()")


def test_an_envelope_that_fails_queues_nothing(client, registry_auth, hook, sql, failing_tag):
    hook()
    body = json.dumps(dump_envelope([push(tag="latest"), push(tag="boom", digest=OTHER)]))
    answer = client.post(
        "/internal/v1/events", data=body, headers=registry_auth, content_type=EVENTS_MEDIA_TYPE
    )
    assert answer.status_code == 500
    assert sql("SELECT count(*) FROM processed_events") == [(0,)]
    assert _deliveries(sql) == []


def test_a_listening_worker_is_woken_at_commit(index_client, hook, db_url):
    hook()
    listener = psycopg2.connect(db_url)
    listener.autocommit = True
    try:
        with listener.cursor() as cur:
            cur.execute("LISTEN wharf_webhooks")
        index_client.post_events([push()])
        deadline = time.monotonic() + 10
        while not listener.notifies and time.monotonic() < deadline:
            select.select([listener], [], [], 0.5)
            listener.poll()
        assert [n.channel for n in listener.notifies][:1] == ["wharf_webhooks"]
    finally:
        listener.close()


def test_an_unknown_repository_created_by_a_push_notifies_its_namespace(index_client, hook, sql):
    namespace = hook("alice")
    index_client.post_events([push("alice/fresh")])
    [(webhook_id, _, body)] = _deliveries(sql)
    assert webhook_id == namespace.id and body["repository"]["repo_name"] == "alice/fresh"
    assert body["repository"]["is_private"] is True


def test_repository_deletion_queues_repository_deleted_and_keeps_the_orphan(
    uow, hook, sql, index_client
):
    own = hook(events=["repository_deleted"], tag_pattern="never-matches")
    namespace = hook("alice", events=["repository_deleted"], fmt="cloudevents")
    hook(events=["tag_pushed"])  # nothing to send: removed at the next pruning
    assert repositories.delete_repository(uow, "alice/app", principal=SYSTEM)
    queued = _deliveries(sql)
    assert [(w, e) for w, e, _ in queued] == [
        (own.id, "repository_deleted"),
        (namespace.id, "repository_deleted"),
    ]
    assert queued[0][2]["repository"]["repo_name"] == "alice/app"
    assert queued[0][2]["push_data"]["pusher"] == "wharf-index"
    assert queued[1][2]["type"] == "io.wharf.repository.deleted"
    orphans = sql(
        "SELECT id, repository_id, repository_name FROM webhooks WHERE id = %s", (own.id,)
    )
    assert orphans == [(own.id, None, "alice/app")]
    # a new repository of the same name is not the old one's
    index_client.post_events([push("alice/app")])
    assert [e for _, e, _ in _deliveries(sql)] == ["repository_deleted", "repository_deleted"]

    prune = dict(token_grace=60, event_retention=7 * DAY, batch=10, delivery_retention=DAY)
    assert housekeeping.prune(uow, **prune).orphan_webhooks == 1
    left = sql("SELECT id FROM webhooks ORDER BY id")
    assert left == [(own.id,), (namespace.id,)]  # the idle one went; own is pending
    sql("UPDATE webhook_deliveries SET status = 'delivered', finished_at = now()")
    report = housekeeping.prune(uow, **prune)
    assert (report.orphan_webhooks, report.webhook_deliveries) == (1, 0)
    assert sql("SELECT id FROM webhooks") == [(namespace.id,)]


def test_old_finished_deliveries_are_pruned(uow, hook, sql, principal):
    made = hook()
    for _ in range(3):
        webhooks.ping(uow, principal("alice"), Owner("repository", "alice/app"), made.id)
    ids = [row[0] for row in sql("SELECT id FROM webhook_deliveries ORDER BY id")]
    sql(
        "UPDATE webhook_deliveries SET status = 'delivered',"
        " finished_at = now() - interval '31 days' WHERE id = ANY (%s)",
        (ids[:2],),
    )
    sql(
        "INSERT INTO webhook_attempts (delivery_id, attempt, status_code, duration_ms)"
        " VALUES (%s, 1, 200, 5)",
        (ids[0],),
    )
    options = dict(token_grace=60, event_retention=7 * DAY, batch=1, delivery_retention=30 * DAY)
    dry = housekeeping.prune(uow, dry_run=True, **options)
    assert dry.webhook_deliveries == 2 and sql("SELECT count(*) FROM webhook_deliveries") == [(3,)]
    assert housekeeping.prune(uow, **options).webhook_deliveries == 2
    assert sql("SELECT id FROM webhook_deliveries") == [(ids[2],)]
    assert sql("SELECT count(*) FROM webhook_attempts") == [(0,)]


def test_the_pusher_and_names_are_copied_into_the_body(index_client, hook, sql, uow):
    hook()
    renamed = replace(push(tag="v2"), actor=Actor("ci-bot"))
    index_client.post_events([renamed])
    [(_, _, body)] = _deliveries(sql)
    assert body["push_data"]["pusher"] == "ci-bot"
    assert body["repository"]["namespace"] == "alice" and body["repository"]["name"] == "app"
    assert isinstance(body["push_data"]["pushed_at"], int)


def test_a_tag_event_without_a_webhook_touches_nothing_else(index_client, app_repo, sql):
    index_client.post_events(
        [new_event("push", Target(mediatypes.OCI_MANIFEST, MANIFEST, 7, "alice/app", tag="x"))]
    )
    assert sql("SELECT count(*) FROM webhook_deliveries") == [(0,)]
    assert sql("SELECT count(*) FROM tags") == [(1,)]
