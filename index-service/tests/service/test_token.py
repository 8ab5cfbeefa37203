"""/v2/token: GET (Basic or anonymous) and the OAuth2 POST form."""

from __future__ import annotations

from datetime import datetime

import pytest
from wharf_index.domain.model import SYSTEM
from wharf_index.services import access_tokens, accounts, authentication, orgs, registries, tokens

from tests.conftest import PASSWORD
from tests.service.conftest import REGISTRY, access_of, basic

NEW_PASSWORD = "another long enough password"


@pytest.fixture
def repos(make_repo):
    make_repo("alice/public", "public")
    make_repo("alice/private", "private")


def test_anonymous_pulls_public_only(get_token, claims_of, repos):
    response = get_token("repository:alice/public:pull,push", "repository:alice/private:pull")
    assert response.status_code == 200
    body = response.get_json()
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 300
    datetime.strptime(body["issued_at"], "%Y-%m-%dT%H:%M:%SZ")
    claims = claims_of(body["token"])
    assert access_of(claims) == {"repository:alice/public": {"pull"}}
    assert claims.subject == "" and claims.audience == REGISTRY
    assert response.headers["Cache-Control"] == "no-store"


def test_private_invisible_to_outsider_is_no_access(get_token, claims_of, users, repos):
    body = get_token("repository:alice/private:pull", user="bob").get_json()
    assert claims_of(body["token"]).access == ()
    owner = get_token("repository:alice/private:pull,push,delete", user="alice").get_json()
    assert access_of(claims_of(owner["token"])) == {
        "repository:alice/private": {"pull", "push", "delete"}
    }


def test_push_allocates_in_own_namespace(get_token, claims_of, users, uow):
    body = get_token("repository:alice/new:pull,push", user="alice").get_json()
    assert access_of(claims_of(body["token"])) == {"repository:alice/new": {"pull", "push"}}
    with uow:
        created = uow.repositories.find("alice/new")
    assert created is not None and created.visibility == "private"


def test_a_missing_repository_answers_its_namespace_like_an_existing_one(
    get_token, claims_of, users, uow, principal, repos
):
    """Pull (and, for namespace admins, delete) on a repository that does not exist yet,
    without allocating it; outsiders get exactly what a private repository gives them."""
    orgs.create_org(uow, "acme", owner="alice", actor=principal("alice"))
    orgs.create_team(
        uow, "acme", "readers", "read", all_repositories=True, actor=principal("alice")
    )
    orgs.add_team_member(uow, "acme", "readers", "bob", actor=principal("alice"))
    wanted = (
        "repository:alice/missing:pull,delete",
        "repository:acme/missing:pull,delete",
        "repository:alice/private:pull,delete",
    )

    def granted(user=None, secret=PASSWORD):
        body = get_token(*wanted, user=user, secret=secret).get_json()
        return access_of(claims_of(body["token"]))

    assert granted("alice") == {
        "repository:alice/missing": {"pull", "delete"},
        "repository:acme/missing": {"pull", "delete"},
        "repository:alice/private": {"pull", "delete"},
    }
    assert granted("bob") == {"repository:acme/missing": {"pull"}}  # a namespace-wide reader
    assert granted("carol") == {
        "repository:alice/missing": {"pull", "delete"},  # an admin
        "repository:acme/missing": {"pull", "delete"},
        "repository:alice/private": {"pull", "delete"},
    }
    assert granted() == {}
    _, pull_token = access_tokens.create_access_token(
        uow, principal("alice"), "ci", [{"repository": "alice/*", "actions": ["pull"]}]
    )
    assert granted("alice", pull_token) == {
        "repository:alice/missing": {"pull"},
        "repository:alice/private": {"pull"},
    }
    with uow:  # pull never allocates
        assert uow.repositories.find_many(["alice/missing", "acme/missing"]) == {}
    outsider = get_token(
        "repository:alice/missing:pull",
        "repository:alice/private:pull",
        "repository:nobody/missing:pull",
        user="bob",
    ).get_json()
    assert claims_of(outsider["token"]).access == ()


def test_push_in_anothers_namespace_not_granted(get_token, claims_of, users, uow, repos):
    body = get_token(
        "repository:alice/other:push", "repository:alice/public:pull,push", user="bob"
    ).get_json()
    assert access_of(claims_of(body["token"])) == {"repository:alice/public": {"pull"}}
    with uow:
        assert uow.repositories.find("alice/other") is None


def test_a_registry_gets_tokens_only_for_the_namespaces_it_serves(
    client, claims_of, users, uow, repos
):
    registries.add_registry(uow, "reg-bob", "http://reg-bob.test", "private", ["bob"], actor=SYSTEM)
    query = {
        "service": "reg-bob",
        "scope": [
            "repository:alice/public:pull",
            "repository:alice/fresh:pull,push",
            "repository:bob/app:pull,push",
        ],
    }
    body = client.get("/v2/token", query_string=query, headers=basic("alice")).get_json()
    assert access_of(claims_of(body["token"])) == {}  # alice's repositories live elsewhere
    with uow:
        assert uow.repositories.find("alice/fresh") is None  # nothing allocated for reg-bob
    body = client.get("/v2/token", query_string=query, headers=basic("bob")).get_json()
    assert access_of(claims_of(body["token"])) == {"repository:bob/app": {"pull", "push"}}


def test_intersection_and_several_scopes(get_token, claims_of, users, repos):
    response = get_token(
        "repository:alice/public:pull repository:alice/private:push",
        "repository:alice/private:pull,frobnicate",
        "registry:catalog:*",
        user="alice",
    )
    assert access_of(claims_of(response.get_json()["token"])) == {
        "repository:alice/public": {"pull"},
        "repository:alice/private": {"pull", "push"},
        # registry:catalog:* only once the registry showed it filters (test_listing.py)
    }
    admin = get_token("registry:catalog:*", user="carol").get_json()
    assert access_of(claims_of(admin["token"])) == {"registry:catalog": {"*"}}


def test_every_token_is_recorded(get_token, claims_of, users, uow, repos):
    claims = claims_of(get_token("repository:alice/public:pull", user="alice").get_json()["token"])
    with uow:
        record = uow.issued_tokens.find(claims.token_id)
    assert record.kind == "access" and record.audience == REGISTRY
    assert record.subject == "alice" and record.user_id is not None
    assert int(record.expires_at.timestamp()) == claims.expires_at


def test_login_without_scope(get_token, claims_of, users):
    response = get_token(user="alice", offline_token="true", client_id="docker")
    body = response.get_json()
    assert claims_of(body["token"]).access == () and body["refresh_token"]


def test_wrong_password_is_401_with_basic_challenge(get_token, users):
    for user, secret in (("alice", "wrong password!"), ("nobody", PASSWORD)):
        response = get_token("repository:alice/x:pull", user=user, secret=secret)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
        assert response.get_json()["error"]["code"] == "UNAUTHORIZED"


def test_malformed_authorization_is_401(client, registry):
    for value in ("Basic !!!notbase64", "Bearer abc", "Basic " + "YWxpY2U="):
        response = client.get(
            "/v2/token", query_string={"service": REGISTRY}, headers={"Authorization": value}
        )
        assert response.status_code == 401


def test_throttled_after_failures(get_token, users):
    for _ in range(3):
        assert get_token(user="alice", secret="wrong password!").status_code == 401
    response = get_token(user="alice")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1


def test_service_required_and_known(client, users, registry):
    for query in ({}, {"service": "elsewhere.test"}):
        response = client.get("/v2/token", query_string=query, headers=basic("alice"))
        assert response.status_code == 400
        assert response.get_json()["error"]["detail"] == {"field": "service"}


def test_bad_scope_is_400(get_token):
    assert get_token("repository:Alice/UPPER:pull").status_code == 400


def test_account_must_match(get_token, users):
    assert get_token(user="alice", account="bob").status_code == 400
    assert get_token(user="alice", account="alice").status_code == 200


def test_access_token_limited_to_its_scopes(get_token, claims_of, uow, principal, repos):
    _, token = access_tokens.create_access_token(
        uow, principal("alice"), "ci", [{"repository": "alice/public", "actions": ["pull"]}]
    )
    body = get_token(
        "repository:alice/public:pull,push",
        "repository:alice/private:pull",
        user="alice",
        secret=token,
    ).get_json()
    assert access_of(claims_of(body["token"])) == {"repository:alice/public": {"pull"}}
    assert get_token(user="bob", secret=token).status_code == 401


def test_robot_token(get_token, claims_of, uow, principal, repos):
    _, token = access_tokens.create_robot(
        uow, principal("alice"), "alice", "ci", ["alice/*:pull,push"]
    )
    body = get_token(
        "repository:alice/private:pull,push,delete", user="alice+ci", secret=token
    ).get_json()
    assert access_of(claims_of(body["token"])) == {"repository:alice/private": {"pull", "push"}}


@pytest.fixture
def count_checks(app, monkeypatch):
    """Count password hash checks (the slow part the cache avoids)."""
    hasher = app.extensions["wharf_index"].config.hasher
    calls = []
    original = hasher.verify

    def verify(password, encoded):
        calls.append(1)
        return original(password, encoded)

    monkeypatch.setattr(hasher, "verify", verify)
    return calls


def test_credential_cache_hit_and_dropped_on_password_change(get_token, uow, users, count_checks):
    assert get_token(user="alice").status_code == 200
    assert get_token(user="alice").status_code == 200
    assert get_token(user="alice").status_code == 200
    assert len(count_checks) == 1
    accounts.set_password(uow, "alice", NEW_PASSWORD)
    assert get_token(user="alice").status_code == 401
    assert get_token(user="alice", secret=NEW_PASSWORD).status_code == 200


def test_cache_dropped_when_disabled_or_token_revoked(
    get_token, uow, principal, users, count_checks
):
    record, token = access_tokens.create_access_token(
        uow, principal("bob"), "ci", [{"repository": "*", "actions": ["pull"]}]
    )
    assert get_token(user="bob", secret=token).status_code == 200
    assert get_token(user="bob", secret=token).status_code == 200
    access_tokens.revoke_token(uow, principal("bob"), record.id)
    assert get_token(user="bob", secret=token).status_code == 401
    assert get_token(user="alice").status_code == 200
    accounts.set_disabled(uow, "alice", True)
    assert get_token(user="alice").status_code == 401


def _post(client, **form):
    return client.post("/v2/token", data={"service": REGISTRY, "client_id": "docker", **form})


def test_post_password_and_refresh(client, claims_of, users, repos, uow, registry):
    response = _post(
        client,
        grant_type="password",
        username="alice",
        password=PASSWORD,
        access_type="offline",
        scope="repository:alice/private:pull",
    )
    body = response.get_json()
    assert response.status_code == 200 and body["scope"] == "repository:alice/private:pull"
    refresh = body["refresh_token"]
    again = _post(
        client,
        grant_type="refresh_token",
        refresh_token=refresh,
        access_type="offline",
        scope="repository:alice/private:pull,push",
    ).get_json()
    assert again["refresh_token"] == refresh
    claims = claims_of(again["access_token"])
    assert claims.subject == "alice"
    assert access_of(claims) == {"repository:alice/private": {"pull", "push"}}
    online = _post(client, grant_type="refresh_token", refresh_token=refresh).get_json()
    assert "refresh_token" not in online
    accounts.set_password(uow, "alice", NEW_PASSWORD)
    assert _post(client, grant_type="refresh_token", refresh_token=refresh).status_code == 401


def test_post_errors(client, users, registry):
    assert (
        _post(
            client, grant_type="password", username="alice", password="wrong password!"
        ).status_code
        == 401
    )
    assert _post(client, grant_type="refresh_token", refresh_token="forged").status_code == 401
    assert _post(client, grant_type="authorization_code").status_code == 400
    assert _post(client, grant_type="refresh_token").status_code == 400
    no_client = client.post(
        "/v2/token",
        data={
            "service": REGISTRY,
            "grant_type": "password",
            "username": "alice",
            "password": PASSWORD,
        },
    )
    assert no_client.status_code == 400


def test_refresh_token_is_not_a_registry_token(client, users, index_client):
    body = _post(
        client, grant_type="password", username="alice", password=PASSWORD, access_type="offline"
    ).get_json()
    from wharf_protocol.client import TokenRejected

    with pytest.raises(TokenRejected) as refused:
        index_client.verify_token(body["refresh_token"])
    assert refused.value.reason == "malformed"  # an HMAC-signed blob, not a JWT


HOME, AWAY = {"REMOTE_ADDR": "192.0.2.1"}, {"REMOTE_ADDR": "198.51.100.7"}


def _token_as(client, user, secret, address):
    return client.get(
        "/v2/token",
        query_string={"service": REGISTRY},
        headers=basic(user, secret),
        environ_base=address,
    )


def test_a_lock_out_holds_only_for_the_address_that_failed(client, users, registry):
    for name in ("alice", "nobody"):  # an unknown name answers exactly like a real one
        statuses = [_token_as(client, name, "wrong password!", HOME).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429], name
    locked = _token_as(client, "alice", PASSWORD, HOME)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
    assert _token_as(client, "alice", PASSWORD, AWAY).status_code == 200
    assert _token_as(client, "alice", PASSWORD, HOME).status_code == 429


def test_a_remembered_password_does_not_open_a_locked_address(
    client, users, registry, count_checks
):
    """The credential cache holds alice's password (used from elsewhere a moment ago): a
    guesser locked out at HOME must not learn that a guess is right."""
    assert _token_as(client, "alice", PASSWORD, AWAY).status_code == 200
    for _ in range(3):
        _token_as(client, "alice", "wrong password!", HOME)
    assert _token_as(client, "alice", PASSWORD, HOME).status_code == 429
    assert _token_as(client, "alice", PASSWORD, AWAY).status_code == 200
    assert len(count_checks) == 4  # the remembered password was not checked again


def test_access_token_guessing_is_throttled_per_address(client, uow, principal, registry):
    _, secret = access_tokens.create_access_token(uow, principal("alice"), "ci", ["*:pull"])
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert [_token_as(client, "alice", wrong, HOME).status_code for _ in range(4)] == [
        401,
        401,
        401,
        429,
    ]
    assert _token_as(client, "alice", secret, HOME).status_code == 429
    assert _token_as(client, "alice", secret, AWAY).status_code == 200


def test_a_refresh_token_minted_across_a_password_change_is_refused(
    client, uow, users, registry, app
):
    """A request that checked the old password while the password changed must not leave
    a refresh token behind that outlives the change."""
    authority = app.extensions["wharf_index"].authority
    checked = authentication.authenticate(uow, "alice", PASSWORD)  # before the change ...
    accounts.set_password(uow, "alice", NEW_PASSWORD)
    late = tokens.issue(uow, authority, checked, REGISTRY, (), offline=True)  # ... after it
    assert (
        _post(client, grant_type="refresh_token", refresh_token=late.refresh_token).status_code
        == 401
    )
    fresh = tokens.issue(
        uow,
        authority,
        authentication.authenticate(uow, "alice", NEW_PASSWORD),
        REGISTRY,
        (),
        offline=True,
    )
    assert (
        _post(client, grant_type="refresh_token", refresh_token=fresh.refresh_token).status_code
        == 200
    )


@pytest.mark.parametrize("change", ["password", "disable", "delete"])
def test_refresh_tokens_end_with_the_credentials(client, uow, users, registry, change):
    body = _post(
        client, grant_type="password", username="bob", password=PASSWORD, access_type="offline"
    ).get_json()
    refresh = body["refresh_token"]
    assert _post(client, grant_type="refresh_token", refresh_token=refresh).status_code == 200
    if change == "password":
        accounts.set_password(uow, "bob", NEW_PASSWORD)  # an administrator's reset, too
    elif change == "disable":
        accounts.set_disabled(uow, "bob", True)
        accounts.set_disabled(uow, "bob", False)
    else:
        accounts.delete_user(uow, "bob")
        accounts.create_user(uow, "bob", "bob@example.test", PASSWORD)  # the name reused
    assert _post(client, grant_type="refresh_token", refresh_token=refresh).status_code == 401
