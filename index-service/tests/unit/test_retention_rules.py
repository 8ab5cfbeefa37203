"""How retention's rules combine (services/retention.py ``expired``): pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wharf_index.domain.records import TagRules
from wharf_index.services.retention import expired

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def ages(*spec: tuple[str, int]) -> list[tuple[str, datetime]]:
    """[(tag, days ago)] -> (tag, pushed at), newest first as the store returns them."""
    rows = [(name, NOW - timedelta(days=days)) for name, days in spec]
    return sorted(rows, key=lambda row: (-row[1].timestamp(), row[0]))


TAGS = ages(("latest", 0), ("b5", 1), ("b4", 10), ("v2", 20), ("b3", 40), ("b2", 50), ("v1", 90))


def names(rules: TagRules, tags=TAGS) -> list[str]:
    return [e.tag for e in expired(rules, tags, NOW)]


def test_no_deleting_rule_deletes_nothing():
    assert names(TagRules()) == []
    assert names(TagRules(keep_patterns=("v*",))) == []
    assert names(TagRules(immutable=("*",), keep_newest=0)) == []


def test_keep_newest_alone_deletes_everything_beyond_the_n_newest():
    assert names(TagRules(keep_newest=3)) == ["v2", "b3", "b2", "v1"]
    assert names(TagRules(keep_newest=0)) == [name for name, _ in TAGS]
    assert names(TagRules(keep_newest=100)) == []


def test_max_age_alone_deletes_everything_older():
    assert names(TagRules(max_age_days=30)) == ["b3", "b2", "v1"]
    # exactly D days old is not older than D days
    assert names(TagRules(max_age_days=40)) == ["b2", "v1"]


def test_both_must_agree():
    assert names(TagRules(keep_newest=5, max_age_days=5)) == ["b2", "v1"]
    assert names(TagRules(keep_newest=1, max_age_days=30)) == ["b3", "b2", "v1"]


def test_patterns_keep_and_do_not_count_among_the_newest():
    rules = TagRules(keep_newest=2, keep_patterns=("v*", "latest"))
    assert names(rules) == ["b3", "b2"]  # kept: latest, v2, v1 (patterns) + b5, b4 (newest)


def test_immutable_tags_are_never_deleted():
    assert names(TagRules(immutable=("v*",), max_age_days=1)) == ["b4", "b3", "b2"]
    assert names(TagRules(immutable=("b?",), keep_newest=0)) == ["latest", "v2", "v1"]


def test_reasons_name_the_rules_set():
    [item, *_] = expired(TagRules(keep_newest=0, max_age_days=1), TAGS, NOW)
    assert item.rules == ("keep_newest", "max_age_days")
    [item, *_] = expired(TagRules(max_age_days=1), TAGS, NOW)
    assert item.rules == ("max_age_days",)
