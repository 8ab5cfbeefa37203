"""REGISTRY_AUTH_TOKEN_CONFIRM=async: reads go ahead once the token passes the local check,
writes wait for the Index's confirmation, a token the Index refuses is refused from then on.

The Index is faked with ``responses`` (fake_index.py), whose verify answers can be held.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import responses
from fake_index import CREDENTIAL, NAME, REALM, URL, FakeIndex, bearer
from wharf_registry.auth.token import Pending
from wharf_registry.settings import Settings

PULL_PUSH = "repository:team/app:pull,push"


@pytest.fixture
def settings():
    return Settings(
        storage_driver="filesystem",
        auth="token",
        index_url=URL,
        index_name=NAME,
        index_credential=CREDENTIAL,
        token_realm=REALM,
        token_confirm="async",
        notifications_enabled=False,
    )


@pytest.fixture
def index():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeIndex(rsps)


@pytest.fixture
def app(make_client, settings, driver, sink, index):
    return make_client(settings, driver=driver, sink=sink, index=index.client()).application


@pytest.fixture(autouse=True)
def image(app, oci, index):
    """team/app:v1, pushed with a token (so the keys are fetched); no verification left."""
    admin = app.test_client()
    admin.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {index.token(PULL_PUSH)}"
    type(oci)(admin).push_image("team/app", "v1")
    poll(lambda: settled(app))


def poll(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def settled(app) -> bool:
    """No verification under way in this process."""
    return len(app.extensions["registry"].auth._verify.flights) == 0


@pytest.fixture
def waits(monkeypatch) -> list[int]:
    """Count the requests that started waiting for a pending Index confirmation."""
    started: list[int] = []
    wait = Pending.wait

    def counted(self):
        started.append(1)
        return wait(self)

    monkeypatch.setattr(Pending, "wait", counted)
    return started


def test_a_pull_goes_ahead_while_a_push_waits_for_the_index(app, index, waits):
    token = index.token(PULL_PUSH)
    calls = index.verify_calls
    index.hold = threading.Event()
    client = app.test_client()
    r = client.get("/v2/team/app/manifests/v1", headers=bearer(token))
    assert r.status_code == 200  # before the Index answered
    poll(lambda: index.verify_calls == calls + 1)
    with ThreadPoolExecutor(1) as pool:
        push = pool.submit(
            app.test_client().post, "/v2/team/app/blobs/uploads/", headers=bearer(token)
        )
        poll(lambda: len(waits) == 1)  # the push waits for the confirmation
        assert client.get("/v2/team/app/tags/list", headers=bearer(token)).status_code == 200
        assert not push.done()
        assert len(waits) == 1  # the reads did not wait
        index.hold.set()
        assert push.result(10).status_code == 202
    assert index.verify_calls == calls + 1  # one call for all three requests
    assert settled(app)


def test_a_token_the_index_refuses_is_refused_from_then_on(app, index, oci):
    token = index.token(PULL_PUSH)
    index.revoked.add(token)
    index.hold = threading.Event()
    client = app.test_client()
    r = client.get("/v2/team/app/manifests/v1", headers=bearer(token))
    assert r.status_code == 200  # the trade-off: one round trip of reads
    with ThreadPoolExecutor(1) as pool:
        push = pool.submit(
            app.test_client().post, "/v2/team/app/blobs/uploads/", headers=bearer(token)
        )
        poll(lambda: index.verify_calls >= 2)
        index.hold.set()
        refused = push.result(10)
    assert refused.status_code == 401
    assert refused.get_json()["errors"][0]["message"] == "token rejected: revoked"
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    calls = index.verify_calls
    r = client.get("/v2/team/app/manifests/v1", headers=bearer(token))
    assert r.status_code == 401 and oci.codes(r) == ["UNAUTHORIZED"]
    assert index.verify_calls == calls  # refused from memory


def test_index_down_one_read_goes_ahead_then_503_until_the_index_answers(app, index, oci):
    warm = index.token("repository:team/app:pull")
    client = app.test_client()
    assert client.get("/v2/team/app/manifests/v1", headers=bearer(warm)).status_code == 200
    poll(lambda: settled(app))
    index.down = True
    token = index.token(PULL_PUSH)
    assert client.get("/v2/team/app/manifests/v1", headers=bearer(token)).status_code == 200
    poll(lambda: settled(app))  # the background confirmation failed
    r = client.get("/v2/team/app/manifests/v1", headers=bearer(token))
    assert r.status_code == 503 and oci.codes(r) == ["INDEX_UNAVAILABLE"]
    r = client.post("/v2/team/app/blobs/uploads/", headers=bearer(token))
    assert r.status_code == 503
    # a token the Index confirmed before keeps working (stale-if-error, as in sync mode)
    assert client.get("/v2/team/app/manifests/v1", headers=bearer(warm)).status_code == 200
    index.down = False
    assert client.get("/v2/team/app/manifests/v1", headers=bearer(token)).status_code == 200
    assert client.post("/v2/team/app/blobs/uploads/", headers=bearer(token)).status_code == 202
