"""auth/pull_meter.py: per-token pull counts, exact under concurrency, bounded in memory."""

from __future__ import annotations

import threading

import pytest
from wharf_protocol.policy import PullLimit
from wharf_registry.auth.pull_meter import PullLimitReached, PullMeter, rate_limit_headers

LIMIT = PullLimit(100, 3, 21600)


def test_takes_until_nothing_remains_then_refuses_without_counting():
    meter = PullMeter()
    assert [meter.take("t", LIMIT, 1300, 1000) for _ in range(3)] == [2, 1, 0]
    with pytest.raises(PullLimitReached) as refused:
        meter.take("t", LIMIT, 1300, 1000)
    assert refused.value.retry_after == 300 and refused.value.limit == LIMIT
    assert meter.remaining("t", LIMIT, 1000) == 0 and meter.remaining("u", LIMIT, 1000) == 3


def test_threads_of_one_process_never_take_more_than_remains():
    meter, limit, taken = PullMeter(), PullLimit(1000, 100, 60), []

    def pull():
        for _ in range(50):
            try:
                taken.append(meter.take("t", limit, 10_000, 0))
            except PullLimitReached:
                pass

    threads = [threading.Thread(target=pull) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == list(range(100))


def test_counts_go_with_the_token_and_beyond_the_capacity():
    meter = PullMeter(capacity=2)
    meter.take("old", LIMIT, 1100, 1000)
    assert meter.remaining("old", LIMIT, 1099) == 2
    assert meter.remaining("old", LIMIT, 1100) == 3  # expired: the token is refused anyway
    for key in ("a", "b", "c"):
        meter.take(key, LIMIT, 5000, 1000)
    assert meter.remaining("a", LIMIT, 1000) == 3  # least recently used, dropped
    assert meter.remaining("c", LIMIT, 1000) == 2


def test_headers_as_docker_hub_sends_them():
    assert rate_limit_headers(PullLimit(100, 80, 21600), 76) == {
        "RateLimit-Limit": "100;w=21600",
        "RateLimit-Remaining": "76;w=21600",
    }
    assert rate_limit_headers(LIMIT, -1)["RateLimit-Remaining"] == "0;w=21600"
