"""REGISTRY_AUTH=token, remote verification: challenges, scopes, cache, Index outages.

The Index is faked with ``responses`` (fake_index.py); tokens are minted with the real
TokenIssuer and a SigningKey, checked by the registry with the keys the fake publishes at
/.well-known/jwks.json, then verified by the fake with the real TokenVerifier.
"""

from __future__ import annotations

import logging

import pytest
import responses
from fake_index import CREDENTIAL, KEY, NAME, REALM, URL, FakeIndex, bearer
from wharf_protocol.client import IndexClient
from wharf_protocol.keys import SigningKey
from wharf_protocol.scopes import parse_challenge
from wharf_protocol.tokens import TokenIssuer
from wharf_registry.app import create_app
from wharf_registry.settings import ConfigError, Settings

ADMIN = (
    "repository:team/app:*",
    "repository:other/base:*",
    "repository:a/x:*",
    "repository:b/y:*",
    "repository:c/z:*",
)
DIGEST = "sha256:" + "a" * 64
FOREIGN = SigningKey.generate()  # a key the Index never published


class Clock:
    """Monotonic seconds the test moves (the JWK Set fetcher's clock)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tampered(token: str) -> str:
    """``token`` with another payload under the same header and signature."""
    header, payload, signature = token.split(".")
    other = payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB")
    return f"{header}.{other}.{signature}"


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
def as_user(app, oci):
    """Return ``(token) -> OCI helper`` whose every request carries ``token``."""

    def make(token: str):
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return type(oci)(client)

    return make


@pytest.fixture
def admin(as_user, index):
    return as_user(index.token(*ADMIN, subject="admin"))


def challenge(response) -> dict[str, str]:
    parsed = parse_challenge(response.headers["WWW-Authenticate"])
    assert parsed.scheme == "bearer"
    return parsed.params


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/v2/", None),
        ("GET", "/v2/_catalog", "registry:catalog:*"),
        ("GET", "/v2/team/app/tags/list", "repository:team/app:pull"),
        ("HEAD", "/v2/team/app/manifests/v1", "repository:team/app:pull"),
        ("GET", f"/v2/team/app/blobs/{DIGEST}", "repository:team/app:pull"),
        ("GET", f"/v2/team/app/referrers/{DIGEST}", "repository:team/app:pull"),
        ("POST", "/v2/team/app/blobs/uploads/", "repository:team/app:pull,push"),
        ("PATCH", "/v2/team/app/blobs/uploads/some-id", "repository:team/app:pull,push"),
        ("PUT", "/v2/team/app/manifests/v1", "repository:team/app:pull,push"),
        ("DELETE", "/v2/team/app/manifests/v1", "repository:team/app:delete"),
        ("DELETE", f"/v2/team/app/blobs/{DIGEST}", "repository:team/app:delete"),
        ("DELETE", "/v2/_wharf/repositories/team/app", "repository:team/app:delete"),
        (
            "POST",
            f"/v2/team/app/blobs/uploads/?mount={DIGEST}&from=other/base",
            "repository:team/app:pull,push repository:other/base:pull",
        ),
    ],
)
def test_requests_without_a_token_get_the_bearer_challenge(client, oci, index, method, path, scope):
    r = client.open(path, method=method)
    assert r.status_code == 401
    expected = f'Bearer realm="{REALM}",service="{NAME}"'
    if scope:
        expected += f',scope="{scope}"'
    assert r.headers["WWW-Authenticate"] == expected
    if method != "HEAD":
        assert oci.codes(r) == ["UNAUTHORIZED"]
    assert index.verify_calls == 0


def test_a_valid_token_allows_push_and_pull_and_is_verified_once(as_user, index, sink):
    user = as_user(index.token("repository:team/app:pull,push", subject="alice"))
    digest, body = user.push_image("team/app", "v1")
    r = user.client.get("/v2/team/app/manifests/v1")
    assert r.status_code == 200 and r.get_data() == body
    assert user.client.get("/v2/team/app/tags/list").get_json()["tags"] == ["v1"]
    assert user.client.get("/v2/").status_code == 200
    assert index.verify_calls == 1  # every later request was a cache hit
    assert {e.actor.name for e in sink.events} == {"alice"}


def test_insufficient_scope_is_401_with_the_error_the_client_reacts_to(as_user, admin, index, oci):
    admin.push_image("team/app", "v1")
    reader = as_user(index.token("repository:team/app:pull"))
    assert reader.client.get("/v2/team/app/manifests/v1").status_code == 200
    for method, path, scope in [
        ("POST", "/v2/team/app/blobs/uploads/", "repository:team/app:pull,push"),
        ("DELETE", "/v2/team/app/manifests/v1", "repository:team/app:delete"),
        ("GET", "/v2/other/base/tags/list", "repository:other/base:pull"),
    ]:
        r = reader.client.open(path, method=method)
        assert r.status_code == 401, (method, path)
        assert challenge(r) == {
            "realm": REALM,
            "service": NAME,
            "scope": scope,
            "error": "insufficient_scope",
        }
        assert oci.codes(r) == ["UNAUTHORIZED"]
    # a push-only grant (no pull) is not enough to push: writes need pull and push
    pusher = as_user(index.token("repository:team/app:push"))
    assert pusher.client.post("/v2/team/app/blobs/uploads/").status_code == 401


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (
            lambda index: index.token(
                "repository:team/app:pull",
                issuer=TokenIssuer(KEY, "wharf-index", clock=lambda: 1000.0),
            ),
            "expired",
        ),
        (
            lambda index: index.token("repository:team/app:pull", audience="another-registry"),
            "wrong_audience",
        ),
        (lambda index: "not%a$token", "malformed"),
        (
            lambda index: TokenIssuer(FOREIGN, "wharf-index").issue("x", NAME, [])[0],
            "unknown_key",
        ),
        (lambda index: tampered(index.token("repository:team/app:pull")), "bad_signature"),
        (
            lambda index: index.token(issuer=TokenIssuer(KEY, "someone-else")),
            "wrong_issuer",
        ),
    ],
)
def test_bad_tokens_get_401_invalid_token_without_asking_the_index(
    client, oci, index, make_token, reason
):
    r = client.get("/v2/team/app/tags/list", headers=bearer(make_token(index)))
    assert index.verify_calls == 0  # refused with the published keys, locally
    assert r.status_code == 401
    assert challenge(r)["error"] == "invalid_token"
    assert challenge(r)["scope"] == "repository:team/app:pull"
    assert r.get_json()["errors"][0] == {
        "code": "UNAUTHORIZED",
        "message": f"token rejected: {reason}",
    }


def test_a_revoked_token_is_refused(client, index):
    token = index.token("repository:team/app:pull")
    index.revoked.add(token)
    r = client.get("/v2/", headers=bearer(token))
    assert r.status_code == 401 and "revoked" in r.get_json()["errors"][0]["message"]


def test_registry_checks_the_audience_of_claims_from_the_index(settings, driver, sink):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        index = FakeIndex(rsps, check_audience=False)
        app = create_app(settings, driver=driver, sink=sink, index=index.client())
        token = index.token("repository:team/app:pull", audience="another-registry")
        r = app.test_client().get("/v2/", headers=bearer(token))
    assert r.status_code == 401
    assert r.get_json()["errors"][0]["message"] == "token rejected: wrong_audience"
    assert index.verify_calls == 0


def test_a_flood_of_unknown_keys_costs_one_jwks_fetch_per_interval_and_no_index_call(client, index):
    clock = Clock()
    client.application.extensions["registry"].auth.keys.fetched.clock = clock
    assert client.get("/v2/", headers=bearer(index.token())).status_code == 200
    foreign = TokenIssuer(FOREIGN, "wharf-index")
    for _second in range(30):  # tokens naming a key the Index never published, 4 a second
        for _ in range(4):
            r = client.get("/v2/", headers=bearer(foreign.issue("x", NAME, [])[0]))
            assert r.status_code == 401
            assert challenge(r)["error"] == "invalid_token"
        clock.now += 1
    assert index.jwks_fetches == 1 + 2  # the first token's, then one refresh per 10 s (t+10, t+20)
    assert index.verify_calls == 1  # only the good token was asked about


def test_the_registry_picks_up_a_rotated_key_without_restart(app, index):
    keys = app.extensions["registry"].auth.keys.fetched
    clock = Clock()
    keys.clock = clock
    client = app.test_client()
    assert client.get("/v2/", headers=bearer(index.token())).status_code == 200
    assert index.jwks_fetches == 1
    index.rotate()
    clock.now += 11  # past the refresh rate limit, well before the keys' max age
    assert client.get("/v2/", headers=bearer(index.token())).status_code == 200
    assert index.jwks_fetches == 2  # exactly one refresh for the new kid
    assert client.get("/v2/", headers=bearer(index.token())).status_code == 200
    assert index.jwks_fetches == 2
    clock.now += 300  # the keys' max age: fetched again for a known key too
    assert client.get("/v2/", headers=bearer(index.token())).status_code == 200
    assert index.jwks_fetches == 3


def test_jwks_down_at_start_gives_503_until_the_index_answers(client, oci, index, caplog):
    keys = client.application.extensions["registry"].auth.keys.fetched
    clock = Clock()
    keys.clock = clock
    index.down = True
    with caplog.at_level(logging.INFO):
        r = client.get("/v2/", headers=bearer(index.token()))
    assert r.status_code == 503 and oci.codes(r) == ["INDEX_UNAVAILABLE"]
    assert "cannot fetch the token keys from http://index.test/.well-known/jwks.json" in caplog.text
    index.down = False
    clock.now += 10
    r = client.get("/v2/", headers=bearer(index.token()))
    assert r.status_code == 200
    assert index.jwks_fetches == 2 and index.verify_calls == 1


def test_index_down_cold_cache_gives_a_clear_503_and_a_log_line(client, oci, index, caplog):
    assert client.get("/v2/", headers=bearer(index.token())).status_code == 200  # keys fetched
    index.down = True
    token = index.token("repository:team/app:pull")
    with caplog.at_level(logging.INFO):
        r = client.get("/v2/team/app/tags/list", headers=bearer(token))
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert oci.codes(r) == ["INDEX_UNAVAILABLE"]
    assert "Index is unreachable" in caplog.text and "ConnectionError" in caplog.text
    assert token not in caplog.text and CREDENTIAL not in caplog.text


def test_index_down_warm_cache_keeps_working(as_user, admin, index):
    admin.push_image("team/app", "v1")
    reader = as_user(index.token("repository:team/app:pull"))
    assert reader.client.get("/v2/team/app/manifests/v1").status_code == 200
    index.down = True
    assert reader.client.get("/v2/team/app/manifests/v1").status_code == 200
    newcomer = as_user(index.token("repository:team/app:pull"))
    assert newcomer.client.get("/v2/team/app/manifests/v1").status_code == 503


def test_wrong_registry_credential_is_a_503_naming_the_variables(
    settings, driver, sink, index, caplog
):
    wrong = IndexClient(URL, NAME, "wrong-credential-xyz", retries=0)
    app = create_app(settings, driver=driver, sink=sink, index=wrong)
    r = app.test_client().get("/v2/", headers=bearer(index.token()))
    assert r.status_code == 503
    assert "REGISTRY_INDEX_CREDENTIAL" in caplog.text
    assert "wrong-credential-xyz" not in caplog.text


def test_catalog_without_the_catalog_grant_is_insufficient_scope(as_user, admin, index):
    admin.push_image("a/x", "v1")
    user = as_user(index.token("repository:a/x:pull"))
    r = user.client.get("/v2/_catalog")
    assert r.status_code == 401  # as the reference registry: podman then asks for the scope
    params = challenge(r)
    assert params["scope"] == "registry:catalog:*"
    assert params["error"] == "insufficient_scope"
    assert index.pullable_questions == []


def test_the_catalog_lists_what_the_index_says_the_caller_may_pull(as_user, admin, index):
    for name in ("a/x", "b/y", "c/z"):
        admin.push_image(name, "v1")
    index.pullable["alice"] = {"a/x", "c/z"}
    user = as_user(index.token("registry:catalog:*"))
    assert user.client.get("/v2/_catalog").get_json() == {"repositories": ["a/x", "c/z"]}
    page = user.client.get("/v2/_catalog?n=1")
    assert page.get_json() == {"repositories": ["a/x"]} and "last=a%2Fx" in page.headers["Link"]
    rest = user.client.get("/v2/_catalog?n=1&last=a/x")
    assert rest.get_json() == {"repositories": ["c/z"]} and "Link" not in rest.headers
    nobody = as_user(index.token("registry:catalog:*", subject="bob"))
    assert nobody.client.get("/v2/_catalog").get_json() == {"repositories": []}
    everyone = as_user(index.token("registry:catalog:*", subject="admin"))
    assert everyone.client.get("/v2/_catalog").get_json() == {"repositories": ["a/x", "b/y", "c/z"]}
    assert all(len(question) <= 1000 for question in index.pullable_questions)


def test_the_catalog_refused_or_unanswered_by_the_index(as_user, admin, index):
    admin.push_image("a/x", "v1")
    token = index.token("registry:catalog:*")
    user = as_user(token)
    assert user.client.get("/v2/").status_code == 200  # verified (and cached)
    index.down = True
    r = user.client.get("/v2/_catalog")
    assert r.status_code == 503 and r.get_json()["errors"][0]["code"] == "INDEX_UNAVAILABLE"
    index.down = False
    index.revoked.add(token)  # the cached verification still holds; the listing asks anew
    r = user.client.get("/v2/_catalog")
    assert r.status_code == 401 and challenge(r)["error"] == "invalid_token"


def test_mount_needs_pull_on_the_source_and_push_on_the_target(as_user, admin, index, sink):
    blob = admin.push_blob("other/base", b"shared layer")
    url = f"/v2/team/app/blobs/uploads/?mount={blob}&from=other/base"
    target_only = as_user(index.token("repository:team/app:pull,push"))
    r = target_only.client.post(url)
    assert r.status_code == 202  # not mounted: a plain upload session instead
    assert not any(e.action == "mount" for e in sink.events)
    both = as_user(index.token("repository:team/app:pull,push", "repository:other/base:pull"))
    r = both.client.post(url)
    assert r.status_code == 201 and r.headers["Docker-Content-Digest"] == blob
    assert sink.events[-1].action == "mount"
    assert sink.events[-1].target.from_repository == "other/base"


def test_repository_delete_needs_delete_on_the_repository(as_user, admin, index):
    admin.push_image("team/app", "v1")
    pusher = as_user(index.token("repository:team/app:pull,push"))
    assert pusher.client.delete("/v2/_wharf/repositories/team/app").status_code == 401
    deleter = as_user(index.token("repository:team/app:delete"))
    assert deleter.client.delete("/v2/_wharf/repositories/team/app").status_code == 202
    assert admin.client.get("/v2/team/app/tags/list").status_code == 404


@pytest.mark.parametrize(
    ("missing", "variable"),
    [
        ("index_url", "REGISTRY_INDEX_URL"),
        ("index_name", "REGISTRY_INDEX_NAME"),
        ("index_credential", "REGISTRY_INDEX_CREDENTIAL"),
    ],
)
def test_token_mode_refuses_to_start_without_the_index_connection(settings, missing, variable):
    incomplete = Settings(**{**settings.__dict__, missing: None, "token_service": None})
    with pytest.raises(ConfigError, match=variable):
        create_app(incomplete)


def test_referrers_in_a_repository_not_yet_existing_are_an_empty_index(as_user, index):
    owner = as_user(index.token("repository:alice/new:pull", subject="alice"))
    r = owner.client.get(f"/v2/alice/new/referrers/{DIGEST}")
    assert r.status_code == 200 and r.get_json()["manifests"] == []
