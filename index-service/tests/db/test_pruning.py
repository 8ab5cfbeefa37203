"""Pruning expired issued-token records and old processed event ids, and the housekeeping
schedule's lease (services/housekeeping.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from wharf_index.services import housekeeping

DAY = 24 * 3600


@pytest.fixture
def seeded(uow, sql):
    """Token records: 3 expired two hours ago, 1 expired 10 s ago (inside a 60 s leeway),
    1 valid; event ids: 3 processed 8 days ago, 1 a day ago."""
    now = datetime.now(UTC)
    expiries = [now - timedelta(hours=2)] * 3 + [
        now - timedelta(seconds=10),
        now + timedelta(minutes=5),
    ]
    with uow:
        for n, expires_at in enumerate(expiries):
            uow.issued_tokens.record(
                f"jti-{n}",
                subject="alice",
                audience="registry.test",
                expires_at=expires_at,
                issued_at=expires_at,
            )
        for n in range(4):
            assert uow.content.claim_event(f"event-{n}", None, "push")
    sql(
        "UPDATE processed_events SET processed_at = now() - interval '8 days'"
        " WHERE event_id <> 'event-3'"
    )
    sql(
        "UPDATE processed_events SET processed_at = now() - interval '1 day'"
        " WHERE event_id = 'event-3'"
    )


def _left(sql):
    tokens = sorted(row[0] for row in sql("SELECT jti FROM issued_tokens"))
    events = sorted(row[0] for row in sql("SELECT event_id FROM processed_events"))
    return tokens, events


def test_dry_run_counts_and_deletes_nothing(uow, sql, seeded):
    report = housekeeping.prune(uow, token_grace=60, event_retention=7 * DAY, batch=2, dry_run=True)
    assert (report.issued_tokens, report.processed_events) == (3, 3)
    assert report.lines() == [
        "3 expired issued-token records would be deleted",
        "3 old processed event ids would be deleted",
        "0 retired signing keys past publication would be deleted",
        "0 old finished webhook deliveries would be deleted",
        "0 webhooks of deleted repositories would be deleted",
        "0 pull counts of ended windows would be deleted",
    ]
    assert _left(sql) == (
        ["jti-0", "jti-1", "jti-2", "jti-3", "jti-4"],
        ["event-0", "event-1", "event-2", "event-3"],
    )


def test_prune_deletes_in_bounded_batches_and_keeps_what_still_counts(uow, sql, seeded):
    first = housekeeping.prune(uow, token_grace=60, event_retention=7 * DAY, batch=2, max_batches=1)
    assert (first.issued_tokens, first.processed_events) == (2, 2)
    rest = housekeeping.prune(uow, token_grace=60, event_retention=7 * DAY, batch=2)
    assert (rest.issued_tokens, rest.processed_events) == (1, 1)
    assert rest.lines() == [
        "1 expired issued-token records deleted",
        "1 old processed event ids deleted",
        "0 retired signing keys past publication deleted",
        "0 old finished webhook deliveries deleted",
        "0 webhooks of deleted repositories deleted",
        "0 pull counts of ended windows deleted",
    ]
    # within the leeway a token still verifies, so its record stays; a recent event id too
    assert _left(sql) == (["jti-3", "jti-4"], ["event-3"])
    again = housekeeping.prune(uow, token_grace=60, event_retention=7 * DAY, batch=2)
    assert (again.issued_tokens, again.processed_events) == (0, 0)


def test_a_pruned_event_id_was_old_enough_and_a_kept_one_is_still_a_duplicate(uow, seeded):
    housekeeping.prune(uow, token_grace=60, event_retention=7 * DAY, batch=10)
    with uow:
        assert uow.content.claim_event("event-3", None, "push") is False  # a redelivery
        assert uow.content.claim_event("event-0", None, "push") is True


def test_the_schedule_runs_a_task_once_per_interval_whatever_the_workers(uow, sql):
    runs = []
    task = housekeeping.Task("prune", 3600, lambda: runs.append(1))
    workers = [housekeeping.Housekeeper(lambda: uow, [task]) for _ in range(3)]
    assert [w.run_once() for w in workers] == [["prune"], [], []]
    assert runs == [1]
    sql("UPDATE housekeeping_schedule SET next_run_at = now() - interval '1 second'")
    assert [w.run_once() for w in reversed(workers)] == [["prune"], [], []]
    assert runs == [1, 1]
    assert sql(
        "SELECT last_error, last_finished_at IS NOT NULL FROM housekeeping_schedule"
        " WHERE task = 'prune'"
    ) == [(None, True)]


def test_a_failing_task_is_recorded_and_the_housekeeper_lives_on(uow, sql):
    def fail():
        raise RuntimeError("registry unreachable")

    keeper = housekeeping.Housekeeper(lambda: uow, [housekeeping.Task("broken", 60, fail)])
    assert keeper.run_once() == ["broken"]
    assert sql("SELECT last_error FROM housekeeping_schedule WHERE task = 'broken'") == [
        ("RuntimeError: registry unreachable",)
    ]
    unreachable = housekeeping.Housekeeper(lambda: 1 / 0, [housekeeping.Task("x", 60, fail)])
    assert unreachable.run_once() == []  # logged, never raised
