"""``registry sync``: the Index's records reconciled with a registry's catalog and tags
(the registry is a ``responses`` double; tokens checked with the Index's keys)."""

from __future__ import annotations

import pytest
import responses
from wharf_index.domain import errors
from wharf_index.services import events, registries, stars, sync
from wharf_protocol import mediatypes

from tests.registry_double import (
    CONFIG,
    LAYER,
    FakeRegistry,
    digest_of,
    make_agent,
    manifest_bytes,
    push_event,
    verifier_for,
)
from tests.service.conftest import REGISTRY, REGISTRY_URL


@pytest.fixture
def agent(settings, database):
    return make_agent(settings, database)


def _state(sql):
    """Every repository with its tags and their digests (what sync may change)."""
    rows = sql(
        "SELECT r.full_name, t.name, m.digest, m.media_type, m.size, m.config_digest,"
        " m.layers FROM repositories r LEFT JOIN tags t ON t.repository_id = r.id"
        " LEFT JOIN manifests m ON m.id = t.manifest_id ORDER BY 1, 2"
    )
    return rows


@pytest.fixture
def drift(uow, registry, make_repo, users, fake):
    """Index and registry disagree in every way sync repairs."""
    other, _ = registries.add_registry(uow, "other", "http://other.test", "private", [])
    make_repo("alice/app")
    make_repo("alice/empty")
    same, moved, old = manifest_bytes("same"), manifest_bytes("moved"), manifest_bytes("old")
    ingest = lambda reg, *evs: events.ingest(uow, reg, list(evs))  # noqa: E731
    ingest(
        registry[0],
        push_event("alice/app", "1", same),
        push_event("alice/app", "2", old),
        push_event("alice/app", "old", old),
        push_event("alice/empty", "t", old),
    )
    ingest(other, push_event("alice/app", "foreign", manifest_bytes("foreign")))
    fake.push("alice/app", "1", same)
    fake.push("alice/app", "2", moved)
    fake.push("alice/new", "a", manifest_bytes("a", layers=2))
    fake.push("alice/new", "b", same)
    fake.push("ghost/x", "1", same)
    return {"moved": digest_of(moved), "a": digest_of(manifest_bytes("a", layers=2))}


def _counts(report):
    return (
        report.repositories_added,
        report.tags_added,
        report.tags_updated,
        report.tags_removed,
        report.unknown_namespaces,
        report.repositories_released,
        report.not_served,
    )


EXPECTED = (
    ["alice/new"],
    ["alice/new:a", "alice/new:b"],
    ["alice/app:2"],
    ["alice/app:old", "alice/empty:t"],
    ["ghost/x"],
    ["alice/empty"],
    [],
)


def test_sync_adds_updates_and_removes(uow, agent, fake, drift, sql):
    report = sync.sync(uow, agent, REGISTRY)
    assert _counts(report) == EXPECTED
    assert "1 repositories added, 2 tags added, 1 updated, 2 removed" in report.summary()
    tags = {(r[0], r[1]): r[2:] for r in _state(sql)}
    assert tags[("alice/app", "2")][0] == drift["moved"]
    assert ("alice/app", "old") not in tags and ("alice/app", "foreign") in tags
    assert tags[("alice/empty", None)][0] is None  # kept, without its tags
    digest, media_type, size, config, layers = tags[("alice/new", "a")]
    assert (digest, media_type, config) == (drift["a"], mediatypes.OCI_MANIFEST, CONFIG)
    assert size == len(manifest_bytes("a", layers=2))
    assert layers == [
        {"digest": LAYER, "size": 1000 + i, "mediaType": mediatypes.OCI_LAYER_GZIP}
        for i in range(2)
    ]
    assert sql("SELECT count(*) FROM repositories WHERE full_name LIKE 'ghost/%%'") == [(0,)]
    # The tokens: the catalog one, then pull on the repositories, all for this registry.
    catalog = [c for m, p, c in fake.calls if p == "/v2/_catalog"]
    assert len(catalog) == 2  # 3 repositories, pages of 2: the Link was followed
    assert {(s.type, s.name) for s in catalog[0].access} == {("registry", "catalog")}
    assert all(c.audience == REGISTRY for _, _, c in fake.calls)
    # In sync now: a second run changes nothing and reads no manifest body.
    fake.calls.clear()
    again = sync.sync(uow, agent, REGISTRY)
    assert _counts(again)[:4] == ([], [], [], [])
    assert not [p for m, p, _ in fake.calls if m == "GET" and "/manifests/" in p]


def test_dry_run_reports_and_changes_nothing(uow, agent, fake, drift, sql):
    before = _state(sql)
    report = sync.sync(uow, agent, REGISTRY, dry_run=True)
    assert _counts(report) == EXPECTED
    assert report.summary().endswith("(dry run: nothing changed)")
    assert _state(sql) == before
    assert not [p for m, p, _ in fake.calls if m == "GET" and "/manifests/" in p]


def test_registry_with_namespaces_syncs_only_those(
    uow, agent, settings, database, make_repo, users
):
    registries.add_registry(uow, "bobs", "http://bobs.test", "private", ["bob"])
    make_repo("alice/app")  # not bobs' namespace: never asked about
    make_repo("bob/app")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeRegistry(mock, "http://bobs.test", verifier_for(settings, database), "bobs")
        report = sync.sync(uow, agent, "bobs")
    assert _counts(report) == ([], [], [], [], [], [], [])
    assert [p for _, p, _ in fake.calls] == ["/v2/_catalog", "/v2/bob/app/tags/list"]


def test_absolute_links_are_followed_on_the_registry_itself(
    uow, agent, settings, database, registry, users, sql
):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeRegistry(
            mock, REGISTRY_URL, verifier_for(settings, database), REGISTRY, absolute_links=True
        )
        for tag in ("1", "2", "3"):
            fake.push("alice/app", tag, manifest_bytes(tag))
        report = sync.sync(uow, agent, REGISTRY)
    assert report.tags_added == ["alice/app:1", "alice/app:2", "alice/app:3"]
    assert len([p for _, p, _ in fake.calls if p.endswith("/tags/list")]) == 2


def test_unreachable_registry_and_unknown_registry_are_errors(uow, agent, fake, users):
    fake.down = True
    with pytest.raises(errors.RegistryUnavailable):
        sync.sync(uow, agent, REGISTRY)
    with pytest.raises(errors.RegistryNotFound):
        sync.sync(uow, agent, "nowhere")


def _holders(sql):
    rows = sql(
        "SELECT r.full_name, g.name FROM repository_registries h"
        " JOIN repositories r ON r.id = h.repository_id"
        " JOIN registries g ON g.id = h.registry_id ORDER BY 1, 2"
    )
    return {name: [g for n, g in rows if n == name] for name, _ in rows}


def test_sync_records_holdings_and_forgets_those_the_registry_lacks(
    uow, agent, fake, registry, make_repo, principal, sql
):
    """registry.test serves every namespace but alice is declared by another registry: what
    it is recorded as holding there is still checked (the catalog lacks alice/gone)."""
    registries.add_registry(uow, "alices", "http://alices.test", "private", ["alice"])
    for name in ("alice/gone", "alice/kept", "alice/lost"):
        make_repo(name)
    events.ingest(
        uow,
        registry[0],
        [
            push_event("alice/gone", "1", manifest_bytes("g")),
            push_event("alice/kept", "1", manifest_bytes("k")),
        ],
    )
    stars.star(uow, principal("alice"), "alice/gone")
    fake.push("alice/kept", "1", manifest_bytes("k"))
    fake.push("alice/lost", "1", manifest_bytes("l"))  # its push event was lost
    report = sync.sync(uow, agent, REGISTRY)
    assert report.repositories_released == ["alice/gone"]
    assert "- holding alice/gone (the registry no longer has it)" in report.lines()
    assert "1 repositories no longer held there" in report.summary()
    assert _holders(sql) == {"alice/kept": [REGISTRY], "alice/lost": [REGISTRY]}
    # alice/gone keeps its record and its star, loses what came from registry.test.
    assert sql(
        "SELECT count(*) FROM manifests m JOIN repositories r ON r.id = m.repository_id"
        " WHERE r.full_name = 'alice/gone'"
    ) == [(0,)]
    assert sql("SELECT count(*) FROM stars") == [(1,)]
    assert [r.name for r in registries.holders(uow, "alice/gone")] == ["alices"]


def test_a_push_during_the_sync_keeps_the_holding(
    uow, agent, fake, registry, make_repo, sql, monkeypatch
):
    make_repo("alice/app")
    events.ingest(uow, registry[0], [push_event("alice/app", "1", manifest_bytes("1"))])
    read_catalog = agent.http.catalog

    def catalog_then_push(*args):
        yield from read_catalog(*args)  # without alice/app: pushed right after this read
        fake.push("alice/app", "2", manifest_bytes("2"))
        events.ingest(uow, registry[0], [push_event("alice/app", "2", manifest_bytes("2"))])

    monkeypatch.setattr(agent.http, "catalog", catalog_then_push)
    report = sync.sync(uow, agent, REGISTRY)
    assert report.repositories_released == [] and report.tags_removed == ["alice/app:1"]
    assert _holders(sql) == {"alice/app": [REGISTRY]}
    assert sql("SELECT name FROM tags") == [("2",)]


def test_catalog_names_outside_the_registrys_namespaces_are_not_taken(
    uow, agent, settings, database, make_repo, users, sql
):
    bobs, _ = registries.add_registry(uow, "bobs", "http://bobs.test", "private", ["bob"])
    make_repo("bob/app")
    make_repo("alice/old")
    sql(
        "INSERT INTO repository_registries (repository_id, registry_id) SELECT id, %s"
        " FROM repositories WHERE full_name = 'alice/old'",
        (bobs.id,),
    )  # recorded long ago
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeRegistry(mock, "http://bobs.test", verifier_for(settings, database), "bobs")
        for name in ("bob/app", "alice/planted", "alice/old"):
            fake.push(name, "1", manifest_bytes(name))
        report = sync.sync(uow, agent, "bobs")
    assert report.not_served == ["alice/planted"] and report.repositories_added == []
    assert report.repositories_released == ["alice/old"] and report.tags_added == ["bob/app:1"]
    assert "! alice/planted (namespace not served by the registry)" in report.lines()
    assert sql("SELECT count(*) FROM repositories WHERE full_name = 'alice/planted'") == [(0,)]
    assert _holders(sql) == {"bob/app": ["bobs"]}


def test_sizes_outside_int64_in_a_registrys_manifest_are_not_recorded(
    uow, agent, fake, registry, users, sql
):
    body = manifest_bytes("huge").replace(b'"size": 1000', b'"size": 1' + b"0" * 400)
    fake.push("alice/app", "1", body)
    sync.sync(uow, agent, REGISTRY)
    assert sql("SELECT layers->0->'size' FROM manifests") == [(0,)]
