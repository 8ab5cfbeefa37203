"""/internal/v1/events: idempotent ingestion of registry events."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from wharf_index.domain.model import SYSTEM
from wharf_index.services import registries
from wharf_protocol import mediatypes
from wharf_protocol.client import EventsRejected, RegistryCredentialRejected
from wharf_protocol.events import (
    EVENTS_MEDIA_TYPE_V1,
    Actor,
    Descriptor,
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
    target = Target(mediatypes.OCI_MANIFEST, digest, 700, repository, tag=tag, length=700,
                    references=refs if references else ())  # fmt: skip
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
    first = client.post("/internal/v1/events", data=body, headers=registry_auth,
                        content_type=EVENTS_MEDIA_TYPE_V1)  # fmt: skip
    assert first.get_json() == {"accepted": 2, "duplicates": 1}
    again = client.post("/internal/v1/events", data=body, headers=registry_auth,
                        content_type="application/json")  # fmt: skip
    assert again.get_json() == {"accepted": 0, "duplicates": 3}
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
    sync_read = replace(event("pull", tag="latest", media_type=mediatypes.OCI_MANIFEST,
                              digest=MANIFEST), actor=Actor("wharf-index"))
    index_client.post_events([sync_read])
    with uow:
        assert uow.repositories.get("alice/app").pull_count == 0
        assert uow.tags.find(app_repo.id, "latest").pull_count == 0


def test_delete_tag_and_manifest(index_client, uow, app_repo, sql):
    index_client.post_events([push(), push(tag="v1"), push(tag="old", digest=OTHER)])
    index_client.post_events([event("delete", tag="v1")])
    with uow:
        assert uow.tags.find(app_repo.id, "v1") is None
        assert uow.tags.find(app_repo.id, "latest") is not None
    index_client.post_events([event("delete", digest=MANIFEST)])
    assert sql("SELECT digest FROM manifests") == [(OTHER,)]
    assert sql("SELECT name FROM tags") == [("old",)]


def test_repository_delete_removes_everything(index_client, uow, app_repo, users, sql):
    index_client.post_events([push()])
    sql(
        "INSERT INTO stars (user_id, repository_id) VALUES (%s, %s)", (users["bob"].id, app_repo.id)
    )
    sql("INSERT INTO comments (repository_id, author_id, body) VALUES (%s, %s, 'nice')",
        (app_repo.id, users["bob"].id))  # fmt: skip
    sql("INSERT INTO webhooks (repository_id, url, secret) VALUES (%s, 'http://h.test/', 's')",
        (app_repo.id,))  # fmt: skip
    index_client.post_events([event("delete")])
    for table in ("repositories", "manifests", "tags", "stars", "comments", "webhooks"):
        assert sql(f"SELECT count(*) FROM {table}") == [(0,)], table  # noqa: S608


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


def test_malformed_envelope_applies_nothing(client, registry_auth, index_client, app_repo, sql):
    good = dump_envelope([push()])["events"][0]
    bad_digest = {**good, "id": "e2", "target": {**good["target"], "digest": "sha256:nope"}}
    bad_name = {**good, "id": "e3", "target": {**good["target"], "repository": "Bad Name"}}
    for body in ({"events": [good, bad_digest]}, {"events": [good, bad_name]}, {"nope": 1},
                 "not json"):  # fmt: skip
        data = body if isinstance(body, str) else json.dumps(body)
        response = client.post("/internal/v1/events", data=data, headers=registry_auth,
                               content_type="application/json")  # fmt: skip
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "EVENTS_INVALID"
    assert sql("SELECT count(*) FROM processed_events") == [(0,)]
    assert sql("SELECT count(*) FROM manifests") == [(0,)]
    with pytest.raises(EventsRejected):  # what the registry's client sees
        index_client.post_events([replace(push(), target=Target("", "", None, "a//b"))])


def test_unknown_registry_and_media_type(client, registry, index_client, uow, app_repo):
    body = json.dumps(dump_envelope([push()]))
    for headers in (basic("unknown.test", registry[1]), basic(REGISTRY, "wrong"), {}):
        response = client.post("/internal/v1/events", data=body, headers=headers,
                               content_type="application/json")  # fmt: skip
        assert response.status_code == 401
    response = client.post("/internal/v1/events", data=body, content_type="text/plain",
                           headers=basic(REGISTRY, registry[1]))  # fmt: skip
    assert response.status_code == 415
    registries.remove_registry(uow, REGISTRY, actor=SYSTEM)
    with pytest.raises(RegistryCredentialRejected):
        index_client.post_events([push()])
