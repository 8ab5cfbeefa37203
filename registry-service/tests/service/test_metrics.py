"""GET /metrics through the app: counters that move with requests, the token, no names.

In-process the app serves this process's own samples (no PROMETHEUS_MULTIPROC_DIR), shared by
every app the tests build, so each test compares a scrape after its requests with one before.
The merge across gunicorn workers is tested in tests/process/test_metrics_workers.py.
"""

from __future__ import annotations

import json
import threading

import pytest
import responses
from fake_index import CREDENTIAL, NAME, REALM, URL, FakeIndex
from outbox_access import drain, pulls
from prometheus_client.parser import text_string_to_metric_families
from wharf_registry import metrics
from wharf_registry.settings import Settings
from wharf_registry.storage import InMemoryDriver

BLOBS = "/v2/<repo:name>/blobs/<digest>"
MANIFESTS = "/v2/<repo:name>/manifests/<reference>"


def scrape(client, token: str | None = None) -> dict[tuple[str, frozenset], float]:
    """Return ``{(sample name, labels): value}`` of one scrape."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.headers["Content-Type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.get_data(as_text=True))
        for s in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_bytes_and_latency_are_counted_by_route(client, oci):
    before = scrape(client)
    layer = b"x" * 3000
    digest = oci.push_blob("team/app", layer)
    manifest_digest, body = oci.push_image("team/app", "v1", layers=(layer,))
    assert client.get(f"/v2/team/app/blobs/{digest}").get_data() == layer
    assert client.get("/v2/team/app/manifests/v1").get_data() == body
    assert client.get("/v2/team/app/blobs/sha256:" + "0" * 64).status_code == 404
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "wharf_registry_http_requests_total"
    assert delta(requests, route=BLOBS, method="GET", code="200") == 1
    assert delta(requests, route=BLOBS, method="GET", code="404") == 1
    assert delta(requests, route=MANIFESTS, method="PUT", code="201") == 1
    assert delta(requests, route=MANIFESTS, method="GET", code="200") == 1
    latency = "wharf_registry_http_request_duration_seconds_count"
    assert delta(latency, route=BLOBS, method="GET") == 2
    assert delta("wharf_registry_sent_bytes_total", kind="blob") == len(layer)
    assert delta("wharf_registry_sent_bytes_total", kind="manifest") == len(body)
    config = b'{"architecture":"amd64","os":"linux"}'
    assert delta("wharf_registry_received_bytes_total") == 2 * len(layer) + len(config)
    assert value(after, "wharf_registry_uploads_in_flight") == 0


def test_a_chunked_upload_counts_its_bytes_and_ends_in_flight(client, oci):
    before = scrape(client)
    location = oci.start("team/chunks")
    r = client.patch(location, data=b"a" * 100, headers={"Content-Range": "0-99"})
    assert r.status_code == 202
    after = scrape(client)
    assert (
        value(after, "wharf_registry_received_bytes_total")
        - value(before, "wharf_registry_received_bytes_total")
        == 100
    )
    assert value(after, "wharf_registry_uploads_in_flight") == 0


class GatedBody:
    """A request body whose first read waits until the test opens the gate."""

    def __init__(self, data: bytes) -> None:
        self.data, self.reading, self.gate = data, threading.Event(), threading.Event()

    def read(self, size: int = -1) -> bytes:
        self.reading.set()
        assert self.gate.wait(30)
        size = len(self.data) if size < 0 else size
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk

    # werkzeug's test client measures the stream: seek to the end, tell, seek back
    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = len(self.data) if whence == 2 else offset
        return self.position

    def tell(self) -> int:
        return getattr(self, "position", 0)


def test_an_upload_is_in_flight_while_its_body_is_read(app, oci):
    location = oci.start("team/slow")
    body = GatedBody(b"z" * 100)
    answers = []

    def upload():
        headers = {"Content-Range": "0-99", "Content-Length": "100"}
        answers.append(app.test_client().patch(location, input_stream=body, headers=headers))

    uploader = threading.Thread(target=upload)
    uploader.start()
    try:
        assert body.reading.wait(30)
        during = scrape(app.test_client())
    finally:
        body.gate.set()
        uploader.join(30)
    assert answers[0].status_code == 202
    after = scrape(app.test_client())
    assert value(during, "wharf_registry_uploads_in_flight") == 1
    assert value(after, "wharf_registry_uploads_in_flight") == 0


def test_unmatched_paths_and_odd_methods_do_not_make_labels(client):
    before = scrape(client)
    client.get("/nowhere/secret-name")
    client.open("/v2/", method="BREW")
    after = scrape(client)
    assert not any("secret-name" in str(labels) for _, labels in after)
    assert not any(("method", "BREW") in labels for _, labels in after)
    requests = "wharf_registry_http_requests_total"
    assert (
        value(after, requests, route="unmatched", method="GET", code="404")
        - value(before, requests, route="unmatched", method="GET", code="404")
        == 1
    )


def test_quota_refusals_are_counted_without_a_namespace(client):
    before = scrape(client)
    metrics.quota_refused(namespace="private-team")
    metrics.quota_refused()
    after = scrape(client)
    name = "wharf_registry_quota_refusals_total"
    assert value(after, name) - value(before, name) == 2
    assert "private-team" not in client.get("/metrics").get_data(as_text=True)


def test_a_metrics_token_is_required_when_set(make_client, driver):
    client = make_client(
        Settings(storage_driver="filesystem", metrics_token="s3cret"), driver=driver
    )
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.get_json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer ")
    assert "wharf_registry_http_requests_total" in str(scrape(client, token="s3cret"))


def test_metrics_can_be_turned_off(make_client, driver):
    client = make_client(Settings(storage_driver="filesystem", metrics=False), driver=driver)
    assert client.get("/metrics").status_code == 404


def test_gc_gauges_come_from_the_last_run_file(client, driver):
    assert not any(name.startswith("wharf_registry_gc_") for name, _ in scrape(client))
    run = {
        "started_at": "2026-12-06T04:00:00Z",
        "finished_at": "2026-12-06T04:00:10Z",
        "dry_run": False,
        "blobs_marked": 7,
        "blobs_deleted": 3,
        "manifests_deleted": 1,
        "bytes_freed": 12345,
        "uploads_purged": 2,
    }
    driver.put_content("/wharf/gc/last-run.json", json.dumps(run).encode())
    client.application.extensions["registry.metrics"].ttl = 0  # no cached scrape
    samples = scrape(client)
    assert value(samples, "wharf_registry_gc_last_run_timestamp_seconds") == 1796529610
    assert value(samples, "wharf_registry_gc_last_bytes_freed") == 12345
    assert value(samples, "wharf_registry_gc_last_blobs_deleted") == 3
    assert value(samples, "wharf_registry_gc_last_manifests_deleted") == 1
    assert value(samples, "wharf_registry_gc_last_uploads_purged") == 2
    assert value(samples, "wharf_registry_gc_last_run_dry_run") == 0
    driver.put_content("/wharf/gc/last-run.json", b"not json")
    assert not any(name.startswith("wharf_registry_gc_") for name, _ in scrape(client))


@pytest.fixture
def index():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeIndex(rsps)


def test_outbox_depth_age_and_delivery_lag(make_client, driver, oci, index):
    settings = Settings(
        storage_driver="filesystem", index_url=URL, index_name=NAME, index_credential=CREDENTIAL
    )
    helper = type(oci)(
        make_client(settings, driver=driver, index=index.client(), deliver_in_background=False)
    )
    helper.client.application.extensions["registry.metrics"].ttl = 0
    before = scrape(helper.client)
    assert value(before, "wharf_registry_outbox_objects") == 0
    assert value(before, "wharf_registry_outbox_oldest_age_seconds") == 0
    helper.push_image("team/app", "v1")
    assert helper.client.get("/v2/team/app/manifests/v1").status_code == 200
    assert pulls(helper).flush() == 1
    pending = scrape(helper.client)
    assert value(pending, "wharf_registry_outbox_objects") >= 1
    assert value(pending, "wharf_registry_outbox_oldest_age_seconds") >= 0
    drain(helper)
    after = scrape(helper.client)
    assert value(after, "wharf_registry_outbox_objects") == 0
    delivered = len(index.events)
    assert delivered >= 4  # two blobs, the manifest, the pull
    flushes = "wharf_registry_pull_flushes_total"
    assert value(after, flushes) - value(before, flushes) == 1
    flushed = "wharf_registry_pulls_flushed_total"
    assert value(after, flushed) - value(before, flushed) == 1
    lag = "wharf_registry_event_delivery_lag_seconds_count"
    assert value(after, lag) - value(before, lag) == delivered
    acked = "wharf_registry_events_delivered_total"
    assert value(after, acked) - value(before, acked) == delivered


def test_tokens_and_the_cache_are_counted_and_private_names_never_appear(
    make_client, driver, index, oci
):
    settings = Settings(
        storage_driver="filesystem",
        auth="token",
        index_url=URL,
        index_name=NAME,
        index_credential=CREDENTIAL,
        token_realm=REALM,
        notifications_enabled=False,
    )
    client = make_client(settings, driver=driver, index=index.client())
    before = scrape(client)
    token = index.token("repository:very-private/hidden-project:pull,push", subject="carol")
    user = client.application.test_client()
    user.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    type(oci)(user).push_image("very-private/hidden-project", "secret-tag")
    bad = client.get("/v2/", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    text = client.get("/metrics").get_data(as_text=True)
    for private in ("very-private", "hidden-project", "secret-tag", "carol"):
        assert private not in text
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    # three pushes (two blobs, the manifest) with one token: verified once, then cached
    assert delta("wharf_registry_tokens_verified_total", outcome="valid") == 3
    assert delta("wharf_registry_tokens_verified_total", outcome="invalid") == 1
    assert delta("wharf_registry_token_cache_lookups_total", result="miss") == 2
    assert delta("wharf_registry_token_cache_lookups_total", result="hit") == 2


class BrokenDriver(InMemoryDriver):
    """Storage that fails every read in a way no driver error describes."""

    def list(self, path, **kwargs):
        raise RuntimeError("no route to storage")

    def get_content(self, path):
        raise RuntimeError("no route to storage")


def test_storage_failing_leaves_the_storage_gauges_out_not_the_scrape(caplog):
    collector = metrics.StorageCollector(BrokenDriver(), events=True, ttl=0)
    assert list(collector.collect()) == []
    assert "storage could not be read: RuntimeError" in caplog.text
