"""Registry events in the audit log: pushes and deletions, and Wharf's extension events
(``wharf.gc`` -> ``registry.gc``, ``wharf.quota_refused`` -> ``quota.refused``)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from wharf_index.domain.model import SYSTEM
from wharf_protocol import mediatypes
from wharf_protocol.client import RegistryCredentialRejected
from wharf_protocol.events import (
    EVENTS_MEDIA_TYPE,
    GC,
    QUOTA_REFUSED,
    Actor,
    GcSummary,
    Target,
    dump_envelope,
    new_event,
)

from tests.service.conftest import REGISTRY
from tests.service.test_events import MANIFEST, NOT_SERVED, OTHER, bobs, event, push  # noqa: F401

AUDIT = (
    "SELECT actor_id, actor_name, target_type, target, namespace_id, repository_id, detail"
    " FROM audit_log WHERE action = %s ORDER BY id"
)
SUMMARY = GcSummary(
    started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    finished_at=datetime(2026, 1, 2, 3, 5, 0, tzinfo=UTC),
    dry_run=True,
    blobs_deleted=0,
    manifests_deleted=0,
    bytes_freed=0,
    uploads_purged=1,
    blobs_marked=12,
)


@pytest.fixture
def app_repo(make_repo):
    return make_repo("alice/app", "public")


def gc_event():
    return new_event(GC, Target("", "", None, "", summary=SUMMARY))


def quota_event(repository="alice/app", actor="alice", message="alice is over its 1 GiB quota"):
    target = Target("", "", None, repository, message=message)
    return new_event(QUOTA_REFUSED, target, actor=Actor(actor))


def post(client, registry_auth, *wire_events):
    return client.post(
        "/internal/v1/events",
        data=json.dumps({"events": list(wire_events)}),
        headers=registry_auth,
        content_type=EVENTS_MEDIA_TYPE,
    )


def test_a_push_writes_repository_push_by_its_user(index_client, app_repo, users, sql):
    pushed = push()
    index_client.post_events([pushed, push(tag="", digest=OTHER)])
    rows = sql(AUDIT, ("repository.push",))
    assert rows == [
        (
            users["alice"].id,
            "alice",
            "repository",
            "alice/app:latest",
            app_repo.namespace_id,
            app_repo.id,
            {
                "digest": MANIFEST,
                "media_type": mediatypes.OCI_MANIFEST,
                "size": 700,
                "registry": REGISTRY,
                "event": pushed.id,
            },
        ),
        (
            users["alice"].id,
            "alice",
            "repository",
            f"alice/app@{OTHER}",  # a push by digest
            app_repo.namespace_id,
            app_repo.id,
            rows[1][6],
        ),
    ]


def test_a_push_by_someone_the_index_does_not_know_has_no_actor(index_client, app_repo, sql):
    index_client.post_events([replace(push(), actor=Actor("htpasswd-user")), event("push")])
    [(actor_id, actor_name, *_, detail)] = sql(AUDIT, ("repository.push",))
    assert (actor_id, actor_name, detail["actor"]) == (None, "", "htpasswd-user")


def test_the_push_audit_shares_the_events_transaction(client, registry_auth, app_repo, sql):
    good = dump_envelope([push()])["events"][0]
    bad = {**good, "id": "bad", "target": {**good["target"], "digest": "sha256:nope"}}
    assert post(client, registry_auth, good, bad).status_code == 400
    assert sql(AUDIT, ("repository.push",)) == []  # nothing applied, nothing audited
    assert post(client, registry_auth, good).status_code == 200
    assert post(client, registry_auth, good).get_json()["duplicates"] == 1
    assert len(sql(AUDIT, ("repository.push",))) == 1  # a redelivery audits nothing


def test_tag_and_manifest_deletes_from_a_registry_are_audited(index_client, app_repo, users, sql):
    index_client.post_events([push(), push(tag="v1"), push(tag="old", digest=OTHER)])
    index_client.post_events(
        [replace(event("delete", tag="old"), actor=Actor("bob")), event("delete", digest=MANIFEST)]
    )
    [tag_row] = sql(AUDIT, ("tag.delete",))
    assert tag_row[:6] == (
        users["bob"].id,
        "bob",
        "tag",
        "alice/app:old",
        app_repo.namespace_id,
        app_repo.id,
    )
    assert {k: v for k, v in tag_row[6].items() if k != "event"} == {
        "by": "registry",
        "registry": REGISTRY,
    }
    [manifest_row] = sql(AUDIT, ("manifest.delete",))
    assert manifest_row[1:4] == ("", "manifest", f"alice/app@{MANIFEST}")
    assert manifest_row[6]["by"] == "registry" and manifest_row[6]["tags"] == ["latest", "v1"]


def test_a_gc_run_writes_registry_gc_with_its_summary(index_client, sql):
    ran = gc_event()
    answer = index_client.post_events([ran])
    assert answer == []  # acknowledged, not refused
    assert sql(AUDIT, ("registry.gc",)) == [
        (
            None,
            "",
            "registry",
            REGISTRY,
            None,
            None,
            {
                "started_at": "2026-01-02T03:04:05Z",
                "finished_at": "2026-01-02T03:05:00Z",
                "dry_run": True,
                "blobs_deleted": 0,
                "manifests_deleted": 0,
                "bytes_freed": 0,
                "uploads_purged": 1,
                "blobs_marked": 12,
                "event": ran.id,
            },
        )
    ]
    index_client.post_events([ran])
    assert len(sql(AUDIT, ("registry.gc",))) == 1  # applied once


def test_a_gc_run_is_never_refused_by_the_namespace_rule(bobs, sql):  # noqa: F811
    answer = bobs(gc_event())
    assert answer == {"accepted": 1, "duplicates": 0, "refused": []}
    assert sql("SELECT target FROM audit_log WHERE action = 'registry.gc'") == [("bobs.test",)]


def test_a_quota_refusal_writes_quota_refused(index_client, app_repo, users, sql):
    refused, first_push = quota_event(), quota_event("alice/new", message="namespace quota")
    index_client.post_events([refused, first_push])
    rows = sql(AUDIT, ("quota.refused",))
    assert rows[0][:6] == (
        users["alice"].id,
        "alice",
        "repository",
        "alice/app",
        app_repo.namespace_id,
        app_repo.id,
    )
    assert rows[0][6] == {
        "message": "alice is over its 1 GiB quota",
        "registry": REGISTRY,
        "event": refused.id,
    }
    # A repository not yet created: its namespace is recorded, no repository.
    assert rows[1][3:6] == ("alice/new", app_repo.namespace_id, None)
    assert sql("SELECT count(*) FROM repositories WHERE full_name = 'alice/new'") == [(0,)]


def test_a_quota_refusal_outside_the_registrys_namespaces_is_refused(bobs, app_repo, sql):  # noqa: F811
    refused = quota_event()
    answer = bobs(refused)
    assert answer["refused"] == [{"id": refused.id, "reason": NOT_SERVED}]
    assert sql(AUDIT, ("quota.refused",)) == []


@pytest.mark.parametrize(
    "wire",
    [
        {"action": "wharf.gc", "target": {}},  # no summary
        {"action": "wharf.gc", "target": {"repository": "alice/app", "summary": "x"}},
        {"action": "wharf.quota_refused", "target": {"repository": "alice/app"}},  # no message
        {"action": "wharf.quota_refused", "target": {"message": "over"}},  # no repository
        {"action": "wharf.quota_refused", "target": {"repository": "Bad Name", "message": "x"}},
        {"action": "push", "target": {"repository": "alice/app", "message": "hello"}},
        {"action": "wharf.unknown", "target": {"repository": "alice/app"}},
    ],
)
def test_malformed_extension_events_are_refused_whole(client, registry_auth, app_repo, sql, wire):
    good = dump_envelope([gc_event()])["events"][0]
    bad = {"id": "bad", "timestamp": "2026-01-02T03:04:05Z", **wire}
    response = post(client, registry_auth, good, bad)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "EVENTS_INVALID"
    assert sql("SELECT count(*) FROM processed_events") == [(0,)]
    assert sql("SELECT count(*) FROM audit_log WHERE action = 'registry.gc'") == [(0,)]


def test_a_bad_gc_summary_is_refused(client, registry_auth, sql):
    wire = dump_envelope([gc_event()])["events"][0]
    wire["target"]["summary"]["bytesFreed"] = -5
    assert post(client, registry_auth, wire).status_code == 400
    assert sql("SELECT count(*) FROM audit_log WHERE action = 'registry.gc'") == [(0,)]


def test_a_registrys_ping_is_an_empty_envelope_applying_nothing(
    client, registry_auth, index_client, make_index_client, sql
):
    answer = post(client, registry_auth)
    assert answer.status_code == 200
    assert answer.get_json() == {"accepted": 0, "duplicates": 0, "refused": []}
    index_client.ping()  # what the registry's readiness check calls
    assert sql("SELECT count(*) FROM processed_events") == [(0,)]
    with pytest.raises(RegistryCredentialRejected):
        make_index_client(REGISTRY, "not-the-credential").ping()


def test_a_tag_delete_the_index_asked_for_is_not_audited_twice(index_client, app_repo, sql):
    index_client.post_events([push(tag="gone")])
    # The Index's own deletion (API, retention) audits itself; its token's subject is SYSTEM.
    index_client.post_events([replace(event("delete", tag="gone"), actor=Actor(SYSTEM.name))])
    assert sql(AUDIT, ("tag.delete",)) == []
