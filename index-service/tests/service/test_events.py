"""/internal/v1/events: idempotent ingestion of registry events."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from wharf_index.domain.model import SYSTEM
from wharf_index.services import registries
from wharf_protocol import mediatypes
from wharf_protocol.client import EventsRejected, RegistryCredentialRejected
from wharf_protocol.events import (
    EVENTS_MEDIA_TYPE,
    EVENTS_MEDIA_TYPE_V1,
    Actor,
    Descriptor,
    Platform,
    Target,
    dump_envelope,
    new_event,
)

from tests.service.conftest import REGISTRY, basic

MANIFEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
CONFIG = "sha256:" + "c" * 64
LAYERS = ["sha256:" + "d" * 64, "sha256:" + "e" * 64]


def push(repository="alice/app", tag="latest", digest=MANIFEST, references=True):
    refs = (
        Descriptor(mediatypes.OCI_CONFIG, CONFIG, 100),
        *(Descriptor(mediatypes.OCI_LAYER_GZIP, d, 1000 + i) for i, d in enumerate(LAYERS)),
    )
    target = Target(
        mediatypes.OCI_MANIFEST,
        digest,
        700,
        repository,
        tag=tag,
        length=700,
        references=refs if references else (),
    )
    return new_event("push", target, actor=Actor("alice"))


def event(action, repository="alice/app", tag="", digest="", media_type=""):
    return new_event(action, Target(media_type, digest, None, repository, tag=tag))


@pytest.fixture
def app_repo(make_repo):
    return make_repo("alice/app", "public")


def test_push_records_manifest_tag_and_counts(index_client, uow, app_repo):
    index_client.post_events([push()])
    with uow:
        tag = uow.tags.find(app_repo.id, "latest")
        repository = uow.repositories.get("alice/app")
    assert tag.digest == MANIFEST and tag.media_type == mediatypes.OCI_MANIFEST
    assert tag.size == 700 and tag.config_digest == CONFIG and tag.pushed_by == "alice"
    assert [(layer.digest, layer.size) for layer in tag.layers] == [
        (LAYERS[0], 1000),
        (LAYERS[1], 1001),
    ]
    assert repository.push_count == 1


def test_duplicate_ids_applied_once(client, registry_auth, uow, app_repo):
    events = [push(), event("pull", tag="latest", media_type=mediatypes.OCI_MANIFEST)]
    body = json.dumps(dump_envelope(events + events[1:]))
    first = client.post(
        "/internal/v1/events", data=body, headers=registry_auth, content_type=EVENTS_MEDIA_TYPE_V1
    )
    assert first.get_json() == {"accepted": 2, "duplicates": 1, "refused": []}
    again = client.post(
        "/internal/v1/events", data=body, headers=registry_auth, content_type="application/json"
    )
    assert again.get_json() == {"accepted": 0, "duplicates": 3, "refused": []}
    with uow:
        repository = uow.repositories.get("alice/app")
    assert (repository.push_count, repository.pull_count) == (1, 1)


def test_pulls_count_per_repository_and_tag(index_client, uow, app_repo, sql):
    index_client.post_events([push()])
    pull_tag = event("pull", tag="latest", media_type=mediatypes.OCI_MANIFEST, digest=MANIFEST)
    pull_digest = event("pull", digest=MANIFEST, media_type=mediatypes.OCI_MANIFEST)
    blob = event("pull", digest=LAYERS[0], media_type=mediatypes.OCI_LAYER_GZIP)
    index_client.post_events([pull_tag, replace(pull_tag, id="x"), pull_digest, blob])
    with uow:
        tag = uow.tags.find(app_repo.id, "latest")
        repository = uow.repositories.get("alice/app")
    assert repository.pull_count == 3 and tag.pull_count == 2
    assert sql("SELECT pull_count FROM manifests") == [(1,)]


def test_the_index_own_reads_are_not_pulls(index_client, uow, app_repo):
    index_client.post_events([push()])
    sync_read = replace(
        event("pull", tag="latest", media_type=mediatypes.OCI_MANIFEST, digest=MANIFEST),
        actor=Actor("wharf-index"),
    )
    index_client.post_events([sync_read])
    with uow:
        assert uow.repositories.get("alice/app").pull_count == 0
        assert uow.tags.find(app_repo.id, "latest").pull_count == 0


def post_raw(client, registry_auth, events_json):
    response = client.post(
        "/internal/v1/events",
        data=json.dumps({"events": events_json}),
        headers=registry_auth,
        content_type=EVENTS_MEDIA_TYPE,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_pull_counts_as_many_pulls_as_its_count(
    client, registry_auth, index_client, uow, app_repo, sql
):
    index_client.post_events([push()])
    by_tag = event("pull", tag="latest", media_type=mediatypes.OCI_MANIFEST, digest=MANIFEST)
    by_digest = event("pull", digest=MANIFEST, media_type=mediatypes.OCI_MANIFEST)
    single = dump_envelope([by_tag])["events"][0]
    assert "count" not in single  # a plain pull: the reference registry's event
    counted = {**dump_envelope([by_tag])["events"][0], "id": "counted", "count": 5}
    by_digest_wire = {**dump_envelope([by_digest])["events"][0], "count": 3}
    answer = post_raw(client, registry_auth, [single, counted, by_digest_wire])
    assert answer == {"accepted": 3, "duplicates": 0, "refused": []}
    with uow:
        tag = uow.tags.find(app_repo.id, "latest")
        repository = uow.repositories.get("alice/app")
    assert (repository.pull_count, tag.pull_count) == (1 + 5 + 3, 1 + 5)
    assert sql("SELECT pull_count FROM manifests") == [(3,)]
    assert post_raw(client, registry_auth, [counted])["duplicates"] == 1  # applied once
    with uow:
        assert uow.repositories.get("alice/app").pull_count == 9


def test_counted_pulls_by_the_index_itself_are_not_pulls(index_client, uow, app_repo):
    index_client.post_events([push()])
    sync_reads = replace(
        event("pull", tag="latest", media_type=mediatypes.OCI_MANIFEST, digest=MANIFEST),
        actor=Actor(SYSTEM.name),
        count=4,
    )
    user_pulls = replace(sync_reads, id="user", actor=Actor("bob"), count=2)
    index_client.post_events([sync_reads, user_pulls])
    with uow:
        assert uow.repositories.get("alice/app").pull_count == 2
        assert uow.tags.find(app_repo.id, "latest").pull_count == 2


def test_a_late_counted_pull_does_not_move_the_last_pull_back(index_client, uow, app_repo):
    index_client.post_events([push()])
    newer = event("pull", tag="latest", media_type=mediatypes.OCI_MANIFEST, digest=MANIFEST)
    older = replace(newer, id="older", timestamp=newer.timestamp - timedelta(minutes=5), count=7)
    index_client.post_events([newer])
    index_client.post_events([older])  # another worker's flush, delivered later
    with uow:
        tag = uow.tags.find(app_repo.id, "latest")
    assert tag.pull_count == 8 and tag.last_pulled_at == newer.timestamp


@pytest.mark.parametrize("count", [0, -1, 1_000_001, "5", 2.5])
def test_a_bad_pull_count_is_rejected_and_nothing_applied(
    client, registry_auth, index_client, uow, app_repo, count
):
    index_client.post_events([push()])
    pull = dump_envelope([event("pull", tag="latest", media_type=mediatypes.OCI_MANIFEST)])
    response = client.post(
        "/internal/v1/events",
        data=json.dumps({"events": [{**pull["events"][0], "count": count}]}),
        headers=registry_auth,
        content_type=EVENTS_MEDIA_TYPE,
    )
    assert response.status_code == 400
    assert "count" in json.dumps(response.get_json()["error"])
    with uow:
        assert uow.repositories.get("alice/app").pull_count == 0


def test_delete_tag_and_manifest(index_client, uow, app_repo, sql):
    index_client.post_events([push(), push(tag="v1"), push(tag="old", digest=OTHER)])
    index_client.post_events([event("delete", tag="v1")])
    with uow:
        assert uow.tags.find(app_repo.id, "v1") is None
        assert uow.tags.find(app_repo.id, "latest") is not None
    index_client.post_events([event("delete", digest=MANIFEST)])
    assert sql("SELECT digest FROM manifests") == [(OTHER,)]
    assert sql("SELECT name FROM tags") == [("old",)]


def test_repository_delete_drops_the_registrys_holding_and_content_only(
    index_client, uow, app_repo, users, sql
):
    """The registry no longer holds the repository: what came from it goes; the repository,
    its stars, comments and webhooks (people's) stay."""
    index_client.post_events([push()])
    assert _holders(sql, "alice/app") == [REGISTRY]
    sql(
        "INSERT INTO stars (user_id, repository_id) VALUES (%s, %s)", (users["bob"].id, app_repo.id)
    )
    sql(
        "INSERT INTO comments (repository_id, author_id, body) VALUES (%s, %s, 'nice')",
        (app_repo.id, users["bob"].id),
    )
    sql(
        "INSERT INTO webhooks (namespace_id, repository_id, repository_name, url, events,"
        " secret_sealed) VALUES (%s, %s, 'alice/app', 'http://h.test/', '{tag_pushed}', 's')",
        (app_repo.namespace_id, app_repo.id),
    )
    index_client.post_events([event("delete")])
    for table in ("manifests", "tags", "repository_registries"):
        assert sql(f"SELECT count(*) FROM {table}") == [(0,)], table  # noqa: S608
    for table in ("repositories", "stars", "comments", "webhooks"):
        assert sql(f"SELECT count(*) FROM {table}") == [(1,)], table  # noqa: S608


def test_push_to_unknown_repository(index_client, uow, users, sql):
    index_client.post_events([push("alice/fresh"), push("ghost/app"), push("single")])
    with uow:
        created = uow.repositories.find("alice/fresh")
    assert created is not None and created.visibility == "private" and created.push_count == 1
    assert sql("SELECT full_name FROM repositories") == [("alice/fresh",)]
    assert sql("SELECT count(*) FROM processed_events") == [(3,)]


def test_push_without_references_keeps_what_is_known(index_client, uow, app_repo):
    index_client.post_events([push()])
    index_client.post_events([push(references=False)])
    with uow:
        tag = uow.tags.find(app_repo.id, "latest")
    assert len(tag.layers) == 2 and tag.config_digest == CONFIG


def _index_push(tag: str, digest: str, platforms: list[Platform | None]):
    refs = tuple(
        Descriptor(mediatypes.OCI_MANIFEST, "sha256:" + str(n) * 64, 500 + n, platform)
        for n, platform in enumerate(platforms, start=1)
    )
    target = Target(mediatypes.OCI_INDEX, digest, 900, "alice/app", tag=tag, references=refs)
    return new_event("push", target, actor=Actor("alice"))


def test_a_two_platform_index_records_its_platforms_from_the_push(
    index_client, uow, app_repo, client
):
    amd, arm = Platform("linux", "amd64"), Platform("linux", "arm64", "v8")
    index_client.post_events(
        [
            _index_push("multi", MANIFEST, [amd, arm, Platform("unknown", "unknown")]),
            _index_push("bare", OTHER, [None, None]),  # a registry sending no platforms
            push(tag="single", digest="sha256:" + "9" * 64),
        ]
    )
    with uow:
        tags = {t.name: t for t in uow.tags.list(app_repo.id, after=None, limit=10)}
    assert [p.label for p in tags["multi"].platforms] == ["linux/amd64", "linux/arm64/v8"]
    assert tags["bare"].platforms is None and tags["single"].platforms is None

    index_client.post_events([_index_push("multi", MANIFEST, [None, None])])  # again, none
    listed = client.get("/api/v1/repositories/alice/app/-/tags").get_json()["items"]
    assert {t["name"]: t["platforms"] for t in listed} == {
        "bare": None,
        "multi": [
            {"os": "linux", "architecture": "amd64", "variant": ""},
            {"os": "linux", "architecture": "arm64", "variant": "v8"},
        ],
        "single": None,
    }
    one = client.get("/api/v1/repositories/alice/app/-/tags/multi").get_json()
    assert [p["architecture"] for p in one["platforms"]] == ["amd64", "arm64"]


def test_malformed_envelope_applies_nothing(client, registry_auth, index_client, app_repo, sql):
    good = dump_envelope([push()])["events"][0]
    bad_digest = {**good, "id": "e2", "target": {**good["target"], "digest": "sha256:nope"}}
    bad_name = {**good, "id": "e3", "target": {**good["target"], "repository": "Bad Name"}}
    for body in (
        {"events": [good, bad_digest]},
        {"events": [good, bad_name]},
        {"nope": 1},
        "not json",
    ):
        data = body if isinstance(body, str) else json.dumps(body)
        response = client.post(
            "/internal/v1/events", data=data, headers=registry_auth, content_type="application/json"
        )
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "EVENTS_INVALID"
    assert sql("SELECT count(*) FROM processed_events") == [(0,)]
    assert sql("SELECT count(*) FROM manifests") == [(0,)]
    with pytest.raises(EventsRejected):  # what the registry's client sees
        index_client.post_events([replace(push(), target=Target("", "", None, "a//b"))])


def test_unknown_registry_and_media_type(client, registry, index_client, uow, app_repo):
    body = json.dumps(dump_envelope([push()]))
    for headers in (basic("unknown.test", registry[1]), basic(REGISTRY, "wrong"), {}):
        response = client.post(
            "/internal/v1/events", data=body, headers=headers, content_type="application/json"
        )
        assert response.status_code == 401
    response = client.post(
        "/internal/v1/events",
        data=body,
        content_type="text/plain",
        headers=basic(REGISTRY, registry[1]),
    )
    assert response.status_code == 415
    registries.remove_registry(uow, REGISTRY, actor=SYSTEM)
    with pytest.raises(RegistryCredentialRejected):
        index_client.post_events([push()])


# -- a registry speaks only for the namespaces it serves ------------------------------------


def _holders(sql, name):
    return [
        row[0]
        for row in sql(
            "SELECT g.name FROM repository_registries h JOIN registries g ON g.id = h.registry_id"
            " JOIN repositories r ON r.id = h.repository_id WHERE r.full_name = %s ORDER BY 1",
            (name,),
        )
    ]


@pytest.fixture
def bobs(uow, client, users):
    """A registry serving only ``bob``: ``bobs(*events)`` posts them and returns the answer."""
    _, credential = registries.add_registry(
        uow, "bobs.test", "http://bobs.test:5000", "private", ["bob"], actor=SYSTEM
    )

    def post(*events):
        response = client.post(
            "/internal/v1/events",
            data=json.dumps(dump_envelope(events)),
            headers=basic("bobs.test", credential),
            content_type=EVENTS_MEDIA_TYPE,
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    post.credential = credential
    return post


NOT_SERVED = "registry bobs.test does not serve namespace alice"


def test_a_registry_cannot_delete_a_repository_of_a_namespace_it_does_not_serve(
    index_client, bobs, uow, app_repo, users, sql, caplog
):
    index_client.post_events([push()])
    sql(
        "INSERT INTO stars (user_id, repository_id) VALUES (%s, %s)", (users["bob"].id, app_repo.id)
    )
    sql(
        "INSERT INTO comments (repository_id, author_id, body) VALUES (%s, %s, 'mine')",
        (app_repo.id, users["alice"].id),
    )
    delete = event("delete")
    with caplog.at_level(logging.WARNING, logger="wharf_index.services.events"):
        answer = bobs(delete, event("delete", tag="latest"), event("delete", digest=MANIFEST))
    assert answer["accepted"] == answer["duplicates"] == 0
    assert [r["reason"] for r in answer["refused"]] == [NOT_SERVED] * 3
    assert answer["refused"][0]["id"] == delete.id
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3 and delete.id in warnings[0].getMessage()
    assert "bobs.test" in warnings[0].getMessage() and "alice/app" in warnings[0].getMessage()
    for table in ("repositories", "manifests", "tags", "stars", "comments"):
        assert sql(f"SELECT count(*) FROM {table}") == [(1,)], table  # noqa: S608
    assert _holders(sql, "alice/app") == [REGISTRY]
    # Acknowledged once and for all: a replay is a duplicate, never retried into effect.
    assert bobs(delete) == {"accepted": 0, "duplicates": 1, "refused": []}
    assert sql("SELECT count(*) FROM processed_events WHERE event_id = %s", (delete.id,)) == [(1,)]


def test_a_registry_cannot_create_or_repoint_outside_its_namespaces(
    index_client, bobs, uow, app_repo, sql
):
    index_client.post_events([push()])
    planted = push("alice/planted")
    repointed = push(digest=OTHER)  # alice/app:latest at a digest nobody pushed here
    pull = event("pull", tag="latest", media_type=mediatypes.OCI_MANIFEST)
    own = push("bob/app")
    answer = bobs(planted, repointed, pull, own)
    assert answer["accepted"] == 1 and answer["duplicates"] == 0
    assert answer["refused"] == [
        {"id": e.id, "reason": NOT_SERVED} for e in (planted, repointed, pull)
    ]
    with uow:
        assert uow.repositories.find("alice/planted") is None
        assert uow.tags.find(app_repo.id, "latest").digest == MANIFEST
        assert uow.repositories.get("alice/app").pull_count == 0
        assert uow.repositories.find("bob/app") is not None  # its own namespace: applied
    assert sql("SELECT digest FROM manifests WHERE repository_id = %s", (app_repo.id,)) == [
        (MANIFEST,)
    ]
    assert _holders(sql, "alice/app") == [REGISTRY] and _holders(sql, "bob/app") == ["bobs.test"]


def test_the_registrys_client_takes_an_answer_with_refusals(make_index_client, bobs, app_repo, sql):
    """What the registry's delivery loop calls: the refusals are acknowledged, not errors."""
    make_index_client("bobs.test", bobs.credential).post_events([push(), push("bob/app")])
    assert sql("SELECT count(*) FROM processed_events") == [(2,)]
    assert sql("SELECT full_name FROM repositories ORDER BY 1") == [("alice/app",), ("bob/app",)]


def test_a_registry_deletes_only_what_came_from_it(client, index_client, uow, app_repo):
    """Two registries serving alice: one cannot remove the other's tags or manifests."""
    _, credential = registries.add_registry(
        uow, "hub.test", "http://hub.test", "private", actor=SYSTEM
    )
    index_client.post_events([push()])
    hub = {"headers": basic("hub.test", credential), "content_type": EVENTS_MEDIA_TYPE}
    body = json.dumps(
        dump_envelope([event("delete", tag="latest"), event("delete", digest=MANIFEST)])
    )
    answer = client.post("/internal/v1/events", data=body, **hub).get_json()
    assert answer == {"accepted": 2, "duplicates": 0, "refused": []}
    with uow:
        assert uow.tags.find(app_repo.id, "latest").digest == MANIFEST
    index_client.post_events([event("delete", tag="latest")])  # its own: removed
    with uow:
        assert uow.tags.find(app_repo.id, "latest") is None


# -- sizes ------------------------------------------------------------------------------------


def test_sizes_outside_int64_are_refused_and_never_served(
    client, registry_auth, index_client, app_repo, sql
):
    good = dump_envelope([push()])["events"][0]
    refs = good["target"]["references"]
    cases = {
        "size": {**good["target"], "size": 10**400, "length": 10**400},
        "length": {**good["target"], "length": 2**63},
        "references": {**good["target"], "references": [{**refs[1], "size": 999 * 10**400}]},
        "total": {
            **good["target"],
            "references": [{**refs[1], "size": 2**62}, {**refs[2], "size": 2**62}],
        },
    }
    for field, target in cases.items():
        bad = {**good, "id": f"bad-{field}", "target": target}
        body = json.dumps({"events": [good, bad]})  # Python writes all 401 digits
        response = client.post(
            "/internal/v1/events", data=body, headers=registry_auth, content_type=EVENTS_MEDIA_TYPE
        )
        assert response.status_code == 400, field
        error = response.get_json()["error"]
        assert error["code"] == "EVENTS_INVALID"
        problems = error["detail"]["messages"]["events"]
        assert list(problems) == ["1"] and "target" in problems["1"], field  # named
    assert sql("SELECT count(*) FROM processed_events") == [(0,)]
    bad = replace(push(), target=replace(push().target, size=2**63))
    with pytest.raises(EventsRejected):  # the registry then sets this one event aside
        index_client.post_events([bad])
    largest = replace(push(), target=replace(push().target, size=2**63 - 1, length=2**63 - 1))
    index_client.post_events([largest])
    tags = client.get("/api/v1/repositories/alice/app/-/tags").get_json()["items"]
    assert [(t["name"], t["size"]) for t in tags] == [("latest", 2**63 - 1)]
    assert all(0 <= t["layers_size"] < 2**63 for t in tags)


def test_sizes_recorded_before_the_check_are_not_served(client, index_client, app_repo, sql):
    index_client.post_events([push()])
    huge = [
        {"digest": LAYERS[0], "size": 10**400, "mediaType": mediatypes.OCI_LAYER_GZIP},
        {"digest": LAYERS[1], "size": 5, "mediaType": mediatypes.OCI_LAYER_GZIP},
    ]
    sql("UPDATE manifests SET layers = %s::jsonb", (json.dumps(huge),))
    [tag] = client.get("/api/v1/repositories/alice/app/-/tags").get_json()["items"]
    assert tag["layers_size"] == 5
    one = client.get("/api/v1/repositories/alice/app/-/tags/latest").get_json()
    assert [layer["size"] for layer in one["layers"]] == [0, 5]
