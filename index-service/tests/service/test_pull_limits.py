"""Pull rate limits at the Index: counted from registry pull events, decided at token issue.

Real PostgreSQL; the registry is played by its events (``/internal/v1/events`` through the
registry's own IndexClient) and Docker by ``/v2/token``. The test client's address is
127.0.0.1, so anonymous pulls reported from that ``request.addr`` are its pulls.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from wharf_index.adapters.pull_counts import PgPullCountStore
from wharf_index.domain.pull_limits import Rate
from wharf_index.services import housekeeping
from wharf_index.settings import Settings
from wharf_protocol import mediatypes
from wharf_protocol.events import Actor, RequestRecord, Target, new_event
from wharf_protocol.policy import PullLimit

from tests.conftest import PASSWORD, SECRET_KEY
from tests.service.conftest import REGISTRY

MANIFEST = "sha256:" + "a" * 64
LAYER = "sha256:" + "d" * 64
HOUR = 3600
ANONYMOUS_RATE, USER_RATE = Rate(3, HOUR), Rate(5, HOUR)


@pytest.fixture
def limits():
    """The pull limit settings of the app under test (parametrize ``limits`` to change)."""
    return {
        "pull_limit_anonymous": ANONYMOUS_RATE,
        "pull_limit_authenticated": USER_RATE,
        "pull_limit_exempt": ("bob",),
    }


@pytest.fixture
def settings(db_url, limits) -> Settings:
    return Settings(
        database_url=db_url,
        secret_key=SECRET_KEY,
        password_scrypt_n=1024,
        log_format="text",
        trusted_proxies=1,
        **limits,
    )


@pytest.fixture
def public(make_repo, users):
    make_repo("alice/app", "public")
    return "alice/app"


def pull(
    actor="", addr="127.0.0.1", *, count=1, at=None, digest=MANIFEST, media=mediatypes.OCI_MANIFEST
):
    """A registry's (counted) manifest pull event of alice/app."""
    event = new_event(
        "pull",
        Target(media, digest, 700, "alice/app", tag="latest" if digest == MANIFEST else ""),
        RequestRecord(addr=addr, method="GET"),
        Actor(actor),
    )
    return replace(event, count=count, timestamp=at or event.timestamp)


def counts(sql) -> dict[str, tuple[int, int]]:
    rows = sql("SELECT subject, window_seconds, pulls FROM pull_counts ORDER BY subject")
    return {subject: (window, pulls) for subject, window, pulls in rows}


def pulls_of(get_token, claims_of, *scopes, **kw) -> PullLimit | None:
    response = get_token(*scopes, **kw)
    assert response.status_code == 200, response.get_json()
    return claims_of(response.get_json()["token"]).policy.pulls


def anonymous_from(client, address: str):
    """An anonymous pull token request from ``address`` (behind the one trusted proxy)."""
    return client.get(
        "/v2/token",
        query_string={"service": REGISTRY, "scope": "repository:alice/app:pull"},
        headers={"X-Forwarded-For": address},
    )


def test_pull_events_count_per_account_and_per_client_address(index_client, public, sql):
    index_client.post_events(
        [
            pull("alice", count=3),
            pull("alice"),
            pull(addr="203.0.113.7:50312"),  # the reference registry's addr has the port
            pull(addr="203.0.113.7", count=2),
            pull(addr="::ffff:203.0.113.7"),  # IPv4-mapped: the same client
            pull(addr="2001:db8:1:2::10"),
            pull(addr="[2001:db8:1:2:aaaa::1]:443"),  # the same /64
            pull("alice", digest=LAYER, media=mediatypes.OCI_LAYER_GZIP),  # a blob: no pull
            pull("wharf-index", count=7),  # the Index's own sync reads
            pull(addr=""),  # no address: nobody to count
        ]
    )
    assert counts(sql) == {
        "addr:2001:db8:1:2::/64": (HOUR, 2),
        "addr:203.0.113.7": (HOUR, 4),
        "user:alice": (HOUR, 4),
    }
    # one upsert per subject and window per envelope, whatever the number of events
    index_client.post_events([pull("alice"), pull("alice", count=2), pull("carol")])
    assert counts(sql)["user:alice"] == (HOUR, 7) and counts(sql)["user:carol"] == (HOUR, 1)


def test_pulls_of_a_repository_the_index_does_not_know_still_count(index_client, users, sql):
    index_client.post_events([pull("alice", count=2)])  # alice/app was never created
    assert counts(sql) == {"user:alice": (HOUR, 2)}


def test_a_redelivered_envelope_counts_once(index_client, public, sql):
    events = [pull("alice", count=2)]
    index_client.post_events(events)
    index_client.post_events(events)
    assert counts(sql) == {"user:alice": (HOUR, 2)}


@pytest.mark.parametrize("limits", [{}])
def test_off_nothing_is_counted_and_tokens_carry_no_limit_without_a_query(
    index_client, public, sql, get_token, claims_of, monkeypatch
):
    def no_query(*args, **kwargs):
        raise AssertionError("pull_counts queried while pull limits are off")

    for name in ("count", "add"):
        monkeypatch.setattr(PgPullCountStore, name, no_query)
    index_client.post_events([pull("alice", count=3), pull(count=2)])
    assert counts(sql) == {}
    assert pulls_of(get_token, claims_of, "repository:alice/app:pull") is None
    assert pulls_of(get_token, claims_of, "repository:alice/app:pull", user="alice") is None


def test_tokens_carry_the_callers_limit_and_what_remains(
    client, index_client, public, get_token, claims_of, monkeypatch
):
    reads = []
    real = PgPullCountStore.count
    monkeypatch.setattr(
        PgPullCountStore, "count", lambda self, *a: reads.append(a) or real(self, *a)
    )
    scope = "repository:alice/app:pull"
    assert pulls_of(get_token, claims_of, scope) == PullLimit(3, 3, HOUR)
    assert pulls_of(get_token, claims_of, scope, user="alice") == PullLimit(5, 5, HOUR)
    assert len(reads) == 2  # one read per token
    index_client.post_events([pull(count=2), pull("alice", count=4)])
    assert pulls_of(get_token, claims_of, scope) == PullLimit(3, 1, HOUR)
    assert pulls_of(get_token, claims_of, scope, user="alice") == PullLimit(5, 1, HOUR)
    # another client address has its own count
    other = anonymous_from(client, "198.51.100.9")
    assert claims_of(other.get_json()["token"]).policy.pulls == PullLimit(3, 3, HOUR)
    # administrators (carol) and exempt users (bob) have none; nor has a token without pull
    assert pulls_of(get_token, claims_of, scope, user="carol") is None
    assert pulls_of(get_token, claims_of, scope, user="bob") is None
    assert pulls_of(get_token, claims_of, "repository:alice/other:push", user="alice") is None


def test_the_token_endpoint_answers_429_when_nothing_remains(
    client, index_client, public, get_token, claims_of
):
    index_client.post_events([pull(count=3), pull("alice", count=5)])
    before = time.time()
    refused = get_token("repository:alice/app:pull")
    assert refused.status_code == 429
    body = refused.get_json()
    assert [e["code"] for e in body["errors"]] == ["TOOMANYREQUESTS"]
    assert body["errors"][0]["message"].startswith("pull rate limit reached (3 pulls per 3600 s)")
    window_end = ANONYMOUS_RATE.window_start(before) + HOUR
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= window_end - int(before) + 1
    assert body["errors"][0]["detail"] == {"limit": 3, "window": HOUR, "retry_after": retry_after}
    assert get_token("repository:alice/app:pull", user="alice").status_code == 429
    # a token that may also push is still issued: the registry refuses its pulls only
    both = "repository:alice/app:pull,push"
    assert pulls_of(get_token, claims_of, both, user="alice") == PullLimit(5, 0, HOUR)
    # another client address has pulls left
    assert anonymous_from(client, "198.51.100.9").status_code == 200


def test_the_oauth2_form_is_limited_too(client, index_client, public):
    index_client.post_events([pull("alice", count=5)])
    form = {
        "grant_type": "password",
        "service": REGISTRY,
        "client_id": "docker",
        "username": "alice",
        "password": PASSWORD,
        "scope": "repository:alice/app:pull",
    }
    response = client.post("/v2/token", data=form)
    assert response.status_code == 429
    assert response.get_json()["errors"][0]["code"] == "TOOMANYREQUESTS"


def test_a_new_window_starts_afresh(index_client, public, get_token, claims_of, sql):
    now = datetime.now(UTC)
    last_window = now - timedelta(seconds=HOUR)
    index_client.post_events(
        [
            pull(count=3, at=last_window),  # used up, an hour ago
            pull(at=now + timedelta(seconds=2 * HOUR)),  # a clock ahead counts as now
        ]
    )
    rows = sql(
        "SELECT extract(epoch FROM window_start)::bigint, pulls FROM pull_counts"
        " ORDER BY window_start"
    )
    assert rows == [
        (ANONYMOUS_RATE.window_start(last_window.timestamp()), 3),
        (ANONYMOUS_RATE.window_start(time.time()), 1),
    ]
    assert pulls_of(get_token, claims_of, "repository:alice/app:pull") == PullLimit(3, 2, HOUR)


def test_housekeeping_prunes_the_counts_of_ended_windows(index_client, public, uow, sql):
    now = datetime.now(UTC)
    index_client.post_events(
        [pull(count=2, at=now - timedelta(seconds=2 * HOUR)), pull("alice", count=1)]
    )
    dry = housekeeping.prune(uow, token_grace=60, event_retention=HOUR, batch=10, dry_run=True)
    assert dry.pull_counts == 1
    report = housekeeping.prune(uow, token_grace=60, event_retention=HOUR, batch=10)
    assert report.pull_counts == 1 and "1 pull counts of ended windows deleted" in report.lines()
    assert counts(sql) == {"user:alice": (HOUR, 1)}
