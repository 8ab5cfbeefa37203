"""GET /metrics on the Index: counters that move with requests, database gauges, the token,
no private names; and, under gunicorn with two workers, one total for all of them.

In-process the app serves this process's own samples (no PROMETHEUS_MULTIPROC_DIR), shared
by every app the tests build, so each test compares a scrape after its requests with one
before.
"""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from wharf_index.app import create_app
from wharf_index.context import EXTENSION
from wharf_index.domain.errors import DatabaseUnavailable
from wharf_index.domain.model import SYSTEM
from wharf_index.services import registries
from wharf_index.services.metrics import DatabaseCollector
from wharf_protocol.client import TokenRejected
from wharf_protocol.events import EVENTS_MEDIA_TYPE, Target, dump_envelope, new_event

from tests.service.conftest import basic
from tests.service.test_events import push

MAX_REQUESTS = 2000  # requests on fresh connections until both workers served one


def scrape(client, token: str | None = None) -> dict[tuple[str, frozenset], float]:
    """Return ``{(sample name, labels): value}`` of one scrape."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.headers["Content-Type"].startswith("text/plain")
    return parse(r.get_data(as_text=True))


def parse(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


class Delta:
    def __init__(self, before, after) -> None:
        self.before, self.after = before, after

    def __call__(self, name: str, **labels: str) -> float:
        return value(self.after, name, **labels) - value(self.before, name, **labels)


@pytest.fixture
def uncached(app):
    """The app's database collector, reading the database at every scrape."""
    app.extensions[EXTENSION].metrics.ttl = 0
    return app


def test_token_requests_are_counted_by_kind_route_and_credential_cache(
    client, settings, get_token, make_repo, users
):
    make_repo("alice/app", "public")
    before = scrape(client)
    assert get_token("repository:alice/app:pull").status_code == 200  # anonymous
    for _ in range(2):
        assert get_token("repository:alice/app:pull", user="alice").status_code == 200
    offline = get_token(user="alice", offline_token="true", client_id="docker")
    assert offline.status_code == 200 and offline.get_json()["refresh_token"]
    assert get_token("repository:alice/app:pull", user="alice", secret="wrong").status_code == 401
    login = client.get(  # docker login to the Index itself: the service is its issuer name
        "/v2/token", query_string={"service": settings.token_issuer}, headers=basic("alice")
    )
    assert login.status_code == 200
    delta = Delta(before, scrape(client))
    requests_ = "wharf_index_http_requests_total"
    assert delta(requests_, route="/v2/token", method="GET", code="200") == 5
    assert delta(requests_, route="/v2/token", method="GET", code="401") == 1
    assert (
        delta("wharf_index_http_request_duration_seconds_count", route="/v2/token", method="GET")
        == 6
    )
    assert delta("wharf_index_tokens_issued_total", kind="registry") == 4
    assert delta("wharf_index_tokens_issued_total", kind="refresh") == 1
    assert delta("wharf_index_tokens_issued_total", kind="login") == 1
    # alice's password: checked in full once (a miss), then served from the cache; the wrong
    # password is a miss too
    assert delta("wharf_index_credential_cache_lookups_total", result="hit") == 3
    assert delta("wharf_index_credential_cache_lookups_total", result="miss") == 2


def test_verifications_for_registries_are_counted_by_outcome(
    client, index_client, make_index_client, get_token, make_repo, users
):
    make_repo("alice/app", "public")
    token = get_token("repository:alice/app:pull").get_json()["token"]
    before = scrape(client)
    index_client.verify_token(token)
    with pytest.raises(TokenRejected):
        index_client.verify_token(token[:-4] + "AAAA")
    r = client.post(
        "/internal/v1/tokens/verify", json={"token": token}, headers=basic("registry.test", "x")
    )
    assert r.status_code == 401
    delta = Delta(before, scrape(client))
    assert delta("wharf_index_token_verifications_total", outcome="valid") == 1
    assert delta("wharf_index_token_verifications_total", outcome="invalid") == 1
    assert delta("wharf_index_token_verifications_total", outcome="unauthorized") == 1


def test_events_are_counted_applied_by_action_refused_and_duplicate(
    client, index_client, uow, make_repo, users
):
    make_repo("alice/app", "public")
    _, credential = registries.add_registry(
        uow, "bobs.test", "http://bobs.test:5000", "private", ["bob"], actor=SYSTEM
    )
    before = scrape(client)
    pushed = push()
    index_client.post_events([pushed])
    index_client.post_events([pushed])  # a replay: a duplicate
    refused = new_event("delete", Target("", "", None, "alice/app", tag="latest"))
    r = client.post(
        "/internal/v1/events",
        data=json.dumps(dump_envelope([refused])),
        headers=basic("bobs.test", credential),
        content_type=EVENTS_MEDIA_TYPE,
    )
    assert r.status_code == 200 and r.get_json()["refused"]
    delta = Delta(before, scrape(client))
    assert delta("wharf_index_events_applied_total", action="push") == 1
    assert delta("wharf_index_events_duplicate_total") == 1
    assert delta("wharf_index_events_refused_total") == 1


def test_the_webhook_queue_and_deletions_are_read_from_the_database(
    client, uncached, hooks, sql, make_repo, users
):
    samples = scrape(client)
    assert value(samples, "wharf_index_webhook_deliveries_pending") == 0
    assert value(samples, "wharf_index_webhook_oldest_pending_age_seconds") == 0
    assert value(samples, "wharf_index_deletions_pending") == 0
    webhook = hooks.webhook("http://127.0.0.1:9/hook")
    hooks.enqueue(webhook, 2, age=120)
    hooks.enqueue(webhook, 1)
    (delivered,) = hooks.enqueue(webhook, 1, age=60)
    sql(
        "UPDATE webhook_deliveries SET status = 'delivered', finished_at = now()"
        " WHERE delivery_id = %s",
        (delivered,),
    )
    repo = make_repo("alice/old", "private")
    sql(
        "INSERT INTO repository_deletions (repository_id, requested_at)"
        " VALUES (%s, now() - interval '10 minutes')",
        (repo.id,),
    )
    samples = scrape(client)
    assert value(samples, "wharf_index_webhook_deliveries_pending") == 3
    assert value(samples, "wharf_index_webhook_oldest_pending_age_seconds") >= 120
    assert value(samples, "wharf_index_webhook_deliveries_recent", outcome="delivered") == 1
    assert value(samples, "wharf_index_webhook_deliveries_recent", outcome="failed") == 0
    assert value(samples, "wharf_index_webhook_delivery_lag_seconds", quantile="1") >= 60
    assert value(samples, "wharf_index_deletions_pending") == 1
    assert value(samples, "wharf_index_deletion_oldest_age_seconds") >= 600


def test_private_names_never_appear(client, uncached, get_token, index_client, make_repo, users):
    make_repo("alice/hidden-project", "private")
    assert get_token("repository:alice/hidden-project:pull,push", user="alice").status_code == 200
    index_client.post_events([push(repository="alice/hidden-project", tag="secret-tag")])
    before = scrape(client)
    assert client.get("/api/v1/repositories/alice/hidden-project").status_code == 404
    text = client.get("/metrics").get_data(as_text=True)
    for private in ("hidden-project", "secret-tag", "alice"):
        assert private not in text
    delta = Delta(before, parse(text))
    route = "/api/v1/repositories/<api_repo:name>"
    assert delta("wharf_index_http_requests_total", route=route, method="GET", code="404") == 1


def test_a_metrics_token_is_required_when_set(settings, database):
    app = create_app(dataclasses.replace(settings, metrics_token="s3cret"), pool=database)
    client = app.test_client()
    r = client.get("/metrics")
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "UNAUTHORIZED"
    assert r.headers["WWW-Authenticate"].startswith("Bearer ")
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert ("wharf_index_http_requests_total", frozenset()) not in scrape(client, "s3cret")


def test_metrics_can_be_turned_off(settings, database):
    app = create_app(dataclasses.replace(settings, metrics=False), pool=database)
    assert app.test_client().get("/metrics").status_code == 404


def _served(directory) -> set[str]:
    return {p.stem.split("_", 1)[1] for p in directory.glob("counter_*.db")}


def test_every_workers_requests_are_counted_in_one_scrape(served_index, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    service = served_index(TMPDIR=str(scratch))  # the master's temporary directory goes here
    (directory,) = scratch.glob("wharf-metrics-*")
    sent = 0
    with ThreadPoolExecutor(8) as pool:
        while len(_served(directory)) < 2 and sent < MAX_REQUESTS:
            answers = list(
                pool.map(lambda _: requests.get(f"{service.url}/v2/", timeout=10), range(16))
            )
            assert {r.status_code for r in answers} == {401}
            sent += len(answers)
    assert len(_served(directory)) >= 2, "one worker served every request"
    for _ in range(4):  # any worker may answer the scrape: each has the same total
        samples = parse(requests.get(f"{service.url}/metrics", timeout=10).text)
        assert (
            value(
                samples, "wharf_index_http_requests_total", route="/v2/", method="GET", code="401"
            )
            == sent
        )
    service.stop()
    assert not directory.exists()


def test_a_database_that_does_not_answer_leaves_its_gauges_out_not_the_scrape(caplog):
    def unreachable():
        raise DatabaseUnavailable("the database did not answer")

    assert list(DatabaseCollector(unreachable, ttl=0).collect()) == []
    assert "the database could not be read: DatabaseUnavailable" in caplog.text
