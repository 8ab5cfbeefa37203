"""Retention through the Index: the dry run, the run (registry first, then the record, an
audit entry per tag), failures, and the housekeeping task that runs it. Real PostgreSQL,
the registry played by tests/registry_double.py."""

from __future__ import annotations

from dataclasses import replace

import pytest
from wharf_index.context import EXTENSION
from wharf_index.services import events, housekeeping, retention, tag_rules

from tests.registry_double import make_agent, manifest_bytes, push_event
from tests.service.conftest import basic

URL = "/api/v1/repositories/alice/app/-"
# tag -> days since its push
AGES = {"latest": 0, "b3": 2, "b2": 20, "b1": 40, "v2": 50, "v1": 60}


@pytest.fixture
def agent(app, settings, database):
    agent = make_agent(settings, database)
    app.extensions[EXTENSION].agent = agent
    return agent


@pytest.fixture
def pushed(uow, registry, make_repo, fake, sql):
    """alice/app with the tags of AGES at the registry and the Index, pushed that long ago."""
    make_repo("alice/app")
    for tag, days in AGES.items():
        body = manifest_bytes(tag)
        fake.push("alice/app", tag, body)
        events.ingest(uow, registry[0], [push_event("alice/app", tag, body)])
        sql(
            "UPDATE tags SET pushed_at = now() - make_interval(days => %s) WHERE name = %s",
            (days, tag),
        )
    return "alice/app"


@pytest.fixture
def rules(uow, principal, pushed):
    """Keep the 2 newest, keep latest, delete older than 10 days; v* immutable."""
    alice = principal("alice")
    tag_rules.set_immutable(uow, alice, "alice/app", ["v*"])
    tag_rules.set_retention(
        uow, alice, "alice/app", keep_newest=2, keep_patterns=["latest"], max_age_days=10
    )


def _tags(sql) -> list[str]:
    return [name for (name,) in sql("SELECT name FROM tags ORDER BY name")]


def test_the_dry_run_lists_what_would_go_and_changes_nothing(client, fake, rules, sql):
    response = client.get(f"{URL}/retention/preview", headers=basic("alice"))
    assert response.status_code == 200
    # latest: a pattern; b3, b2: the 2 newest others; v1, v2: immutable; b1: 40 days old.
    assert [(t["name"], t["rules"]) for t in response.json["tags"]] == [
        ("b1", ["keep_newest", "max_age_days"])
    ]
    assert fake.calls == [] and len(_tags(sql)) == len(AGES)


def test_a_run_deletes_at_the_registry_then_here_and_audits_each(uow, agent, fake, rules, sql):
    # now: everything older than 10 days that is not immutable
    sql("UPDATE repository_tag_rules SET keep_newest = 0, keep_patterns = '{}'")
    report = retention.run(uow, agent)
    assert report.deleted == ["alice/app:b2", "alice/app:b1"] and report.failed == {}
    assert sorted(fake.repositories["alice/app"]) == ["b3", "latest", "v1", "v2"]
    assert _tags(sql) == ["b3", "latest", "v1", "v2"]
    audit = sql(
        "SELECT actor_name, target, detail FROM audit_log WHERE action = 'tag.delete' ORDER BY id"
    )
    assert [(actor, target) for actor, target, _ in audit] == [
        ("wharf-index", "alice/app:b2"),
        ("wharf-index", "alice/app:b1"),
    ]
    detail = audit[0][2]
    assert detail["by"] == "retention"
    assert detail["rules"] == {"keep_newest": 0, "keep_patterns": [], "max_age_days": 10}
    assert detail["rule"] == ["keep_newest", "max_age_days"]
    assert retention.run(uow, agent).deleted == []  # nothing more to do


def test_an_unreachable_registry_leaves_everything_for_the_next_run(uow, agent, fake, rules, sql):
    fake.down = True
    report = retention.run(uow, agent)
    assert report.deleted == [] and "registry.test" in report.failed["alice/app"]
    assert len(_tags(sql)) == len(AGES)
    fake.down = False
    assert retention.run(uow, agent).deleted == ["alice/app:b1"]


def test_the_run_stops_at_its_limit(uow, agent, fake, pushed, principal, sql):
    tag_rules.set_retention(
        uow, principal("alice"), "alice/app", keep_newest=0, keep_patterns=[], max_age_days=None
    )
    assert len(retention.run(uow, agent, limit=2).deleted) == 2
    assert len(_tags(sql)) == len(AGES) - 2


def test_repositories_without_rules_are_left_alone(uow, agent, fake, pushed, principal, sql):
    tag_rules.set_immutable(uow, principal("alice"), "alice/app", ["x"])  # a row, no retention
    assert retention.run(uow, agent).deleted == [] and fake.calls == []


def test_the_housekeeping_task_runs_retention(uow, settings, agent, fake, rules, sql):
    on = replace(settings, deletion_redrive_interval=0, prune_interval=0, retention_interval=600)
    keeper = housekeeping.housekeeper(on, lambda: uow, agent)
    assert [(t.name, t.interval) for t in keeper.tasks] == [(housekeeping.RETENTION, 600)]
    assert keeper.run_once() == [housekeeping.RETENTION]
    assert "b1" not in _tags(sql)
    assert keeper.run_once() == []  # not due again before its interval
    off = replace(on, retention_interval=0)
    assert housekeeping.housekeeper(off, lambda: uow, agent) is None
