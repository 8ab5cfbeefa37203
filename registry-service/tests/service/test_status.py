"""GET /status: the outbox's backlog (pending objects, the oldest's time and age) read from
the real storage outbox as pushes and pulls fill it and delivery empties it; ``off``
without an outbox, ``down`` when storage cannot be listed; no names in the answer."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import responses
from fake_index import CREDENTIAL, NAME, URL, FakeIndex
from outbox_access import drain, pending, pulls
from wharf_registry.events.outbox import TIME_FORMAT, Outbox
from wharf_registry.settings import Settings
from wharf_registry.storage import FilesystemDriver, StorageError

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()


@pytest.fixture
def index():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeIndex(rsps)


@pytest.fixture
def with_outbox(make_client, driver, oci, index):
    """An OCI helper on a registry sending events to the (fake) Index through its outbox,
    delivered only when the test drains it; /status never reuses an answer."""
    settings = Settings(
        storage_driver="filesystem", index_url=URL, index_name=NAME, index_credential=CREDENTIAL
    )
    client = make_client(settings, driver=driver, index=index.client(), deliver_in_background=False)
    client.application.extensions["registry"].outbox_status.check.ttl = 0
    return type(oci)(client)


def status(client) -> dict:
    response = client.get("/status")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def test_backlog_grows_with_events_and_empties_with_delivery(with_outbox, driver):
    client = with_outbox.client
    assert status(client) == {
        "outbox": {
            "status": "ok",
            "pending": 0,
            "pending_capped": False,
            "oldest_at": None,
            "oldest_age_seconds": 0.0,
        }
    }
    with_outbox.push_image("secret-team/secret-app", "v1")
    assert client.get("/v2/secret-team/secret-app/manifests/v1").status_code == 200
    assert pulls(with_outbox).flush() == 1

    client.application.extensions["registry"].outbox_status.clock = lambda: NOW
    outbox = status(client)["outbox"]
    names = pending(driver)
    assert outbox["pending"] == len(names) >= 2 and outbox["pending_capped"] is False
    oldest = names[0].rsplit("/", 1)[-1].split("-", 1)[0]  # the first event's time
    assert outbox["oldest_at"] == oldest
    made = datetime.strptime(oldest, TIME_FORMAT).replace(tzinfo=UTC).timestamp()
    assert outbox["oldest_age_seconds"] == round(NOW - made, 3)
    assert "secret" not in str(outbox) and driver.root not in str(outbox)

    drain(with_outbox)
    assert status(client)["outbox"]["pending"] == 0


def test_without_an_outbox_the_status_is_off(client):
    assert status(client) == {"outbox": {"status": "off"}}


class UnlistableDriver(FilesystemDriver):
    """Storage whose listing fails (an S3 outage, say), counting the listings."""

    listings = 0

    def list(self, path, **kwargs):
        UnlistableDriver.listings += 1
        raise StorageError("connection refused by 10.0.0.7", path, "filesystem")


def test_storage_that_cannot_be_listed_is_down_without_details(make_client, tmp_path, index):
    settings = Settings(
        storage_driver="filesystem", index_url=URL, index_name=NAME, index_credential=CREDENTIAL
    )
    client = make_client(
        settings,
        driver=UnlistableDriver(str(tmp_path)),
        index=index.client(),
        deliver_in_background=False,
    )
    outbox = status(client)["outbox"]
    assert outbox == {"status": "down", "step": "list", "error": "StorageError"}
    assert "10.0.0.7" not in str(outbox)
    before = UnlistableDriver.listings
    assert status(client)["outbox"]["status"] == "down"  # within the cache: not listed again
    assert UnlistableDriver.listings == before


def test_concurrent_requests_share_one_listing(with_outbox, driver, monkeypatch):
    checker = with_outbox.client.application.extensions["registry"].outbox_status
    checker.check.ttl = 60
    answers = []

    def ask():
        answers.append(checker.report()["outbox"]["pending"])

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert answers == [0] * 8 and checker.check.runs == 1


def test_the_backlog_is_counted_up_to_the_limit(driver):
    outbox = Outbox(driver)
    assert outbox.backlog(3).pending == 0 and outbox.backlog(3).oldest is None
    for second in range(4):
        driver.put_content(f"/wharf/outbox/20300102T03040{second}.000000Z-e{second}.json", b"{}")
    counted = outbox.backlog(3)
    assert (counted.pending, counted.capped) == (3, True)
    assert counted.oldest == datetime(2030, 1, 2, 3, 4, 0, tzinfo=UTC)
    assert counted.oldest_age(NOW) == NOW - counted.oldest.timestamp()
    assert outbox.backlog(10).capped is False
    driver.put_content("/wharf/outbox/000-not-a-time.json", b"{}")  # sorts first
    assert outbox.backlog(10).oldest is None  # unknown age rather than a wrong one
