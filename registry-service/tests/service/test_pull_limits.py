"""Pull rate limits: a token whose policy has ``pulls`` pulls manifests up to its remaining.

Tokens are minted as in test_token_auth.py (the fake Index's real TokenIssuer), with a
:class:`~wharf_protocol.policy.Policy` carrying a :class:`~wharf_protocol.policy.PullLimit`.
"""

from __future__ import annotations

import time

import pytest
import responses
from fake_index import CREDENTIAL, NAME, REALM, URL, FakeIndex, scopes
from wharf_protocol.policy import Policy, PullLimit
from wharf_registry.settings import Settings

SIX_HOURS = 21600
TTL = 300


@pytest.fixture
def settings():
    return Settings(
        storage_driver="filesystem",
        auth="token",
        index_url=URL,
        index_name=NAME,
        index_credential=CREDENTIAL,
        token_realm=REALM,
        notifications_enabled=False,
    )


@pytest.fixture
def index():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeIndex(rsps)


@pytest.fixture
def app(make_client, settings, driver, sink, index):
    return make_client(settings, driver=driver, sink=sink, index=index.client()).application


@pytest.fixture
def as_token(app, oci, index):
    """``as_token(scope, pulls=PullLimit | None, subject="")`` -> an OCI helper whose every
    request carries a new token granting ``scope`` with that pull limit."""

    def make(scope: str, pulls: PullLimit | None = None, subject: str = ""):
        token, _ = index.issuer.issue(subject, NAME, scopes(scope), TTL, Policy(pulls=pulls))
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return type(oci)(client)

    return make


@pytest.fixture
def pushed(as_token):
    """team/app:v1 pushed (by a token without a pull limit); its blob digests."""
    pusher = as_token("repository:team/app:pull,push", subject="alice")
    pusher.push_image("team/app", "v1")
    manifest = pusher.client.get("/v2/team/app/manifests/v1").get_json()
    return [manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])]


def limits(response) -> tuple[str | None, str | None]:
    return response.headers.get("RateLimit-Limit"), response.headers.get("RateLimit-Remaining")


def pulls_in(sink) -> int:
    return sum(e.count for e in sink.events if e.action == "pull" and e.target.tag == "v1")


def test_manifest_gets_take_the_tokens_pulls_then_429_and_head_is_free(as_token, pushed, sink):
    anonymous = as_token("repository:team/app:pull", PullLimit(100, 2, SIX_HOURS)).client
    before = pulls_in(sink)
    head = anonymous.head("/v2/team/app/manifests/v1")
    assert head.status_code == 200
    assert limits(head) == ("100;w=21600", "2;w=21600")  # HEAD takes no pull
    assert limits(anonymous.get("/v2/team/app/manifests/v1")) == ("100;w=21600", "1;w=21600")
    digest = anonymous.head("/v2/team/app/manifests/v1").headers["Docker-Content-Digest"]
    by_digest = anonymous.get(f"/v2/team/app/manifests/{digest}")
    assert by_digest.status_code == 200 and limits(by_digest) == ("100;w=21600", "0;w=21600")
    assert pulls_in(sink) - before == 1  # the digest pull has no tag

    started = time.time()
    refused = anonymous.get("/v2/team/app/manifests/v1")
    assert refused.status_code == 429
    error = refused.get_json()["errors"][0]
    assert error["code"] == "TOOMANYREQUESTS"
    assert error["message"].startswith("pull rate limit reached (100 pulls per 21600 s)")
    assert error["detail"] == {"limit": 100, "window": SIX_HOURS}
    assert limits(refused) == ("100;w=21600", "0;w=21600")
    # until the token expires (plus the leeway): then a new one says more
    assert 1 <= int(refused.headers["Retry-After"]) <= TTL + 60 + 1
    assert int(refused.headers["Retry-After"]) >= TTL + 60 - (time.time() - started) - 2
    assert pulls_in(sink) - before == 1  # a refused GET is no pull

    head = anonymous.head("/v2/team/app/manifests/v1")
    assert head.status_code == 200 and limits(head) == ("100;w=21600", "0;w=21600")
    assert anonymous.get(f"/v2/team/app/blobs/{pushed[0]}").status_code == 200  # blobs: free
    assert anonymous.get("/v2/team/app/tags/list").status_code == 200


def test_each_token_has_its_own_count(as_token, pushed):
    first = as_token("repository:team/app:pull", PullLimit(10, 1, 3600), subject="bob").client
    second = as_token("repository:team/app:pull", PullLimit(10, 1, 3600), subject="bob").client
    assert first.get("/v2/team/app/manifests/v1").status_code == 200
    assert first.get("/v2/team/app/manifests/v1").status_code == 429
    again = second.get("/v2/team/app/manifests/v1")
    assert again.status_code == 200 and limits(again) == ("10;w=3600", "0;w=3600")


def test_a_manifest_not_found_takes_no_pull(as_token, pushed):
    client = as_token("repository:team/app:pull", PullLimit(5, 1, 60)).client
    missing = client.get("/v2/team/app/manifests/nope")
    assert missing.status_code == 404 and limits(missing) == (None, None)
    assert limits(client.get("/v2/team/app/manifests/v1")) == ("5;w=60", "0;w=60")


def test_without_a_pull_limit_no_headers_and_no_limit(as_token, pushed):
    client = as_token("repository:team/app:pull").client
    for _ in range(3):
        response = client.get("/v2/team/app/manifests/v1")
        assert response.status_code == 200 and limits(response) == (None, None)
    assert limits(client.head("/v2/team/app/manifests/v1")) == (None, None)


def test_a_token_with_nothing_left_still_pushes(as_token, pushed):
    """The Index issues a pull-and-push token with remaining 0 rather than refusing it."""
    user = as_token("repository:team/other:pull,push", PullLimit(5, 0, 60), subject="alice")
    user.push_image("team/other", "v2")
    assert user.client.get("/v2/team/other/manifests/v2").status_code == 429
    assert limits(user.client.head("/v2/team/other/manifests/v2")) == ("5;w=60", "0;w=60")


@pytest.mark.parametrize(("proxies", "addr"), [(0, "127.0.0.1"), (1, "203.0.113.5")])
def test_pull_events_report_the_client_address_behind_trusted_proxies(
    make_client, driver, sink, oci, proxies, addr
):
    """The Index counts anonymous pulls by the events' request.addr: behind a proxy the
    registry must report the client, not the proxy (REGISTRY_TRUSTED_PROXIES)."""
    client = make_client(
        Settings(storage_driver="filesystem", trusted_proxies=proxies), driver=driver, sink=sink
    )
    type(oci)(client).push_image("team/app", "v1")
    forwarded = {"X-Forwarded-For": "203.0.113.5"}
    assert client.get("/v2/team/app/manifests/v1", headers=forwarded).status_code == 200
    [pulled] = [e for e in sink.events if e.action == "pull"]
    assert pulled.request.addr == addr
