"""API authentication: session cookie with CSRF, Basic (password or token), Bearer."""

from __future__ import annotations

from dataclasses import replace

import pytest
from wharf_index.app import create_app
from wharf_index.services import accounts

from tests.api.conftest import API, basic, bearer
from tests.conftest import PASSWORD


def _login(client, name="alice", password=PASSWORD):
    return client.post(f"{API}/session", json={"username": name, "password": password})


def _token(client, name="alice", scopes=None):
    body = {"name": "ci", "scopes": scopes or [{"repository": "alice/*", "actions": ["pull"]}]}
    response = client.post(f"{API}/tokens", json=body, headers=basic(name))
    assert response.status_code == 201, response.json
    return response.json["secret"]


def test_anonymous_gets_401_with_a_challenge(client, users):
    response = client.get(f"{API}/user")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "UNAUTHORIZED"
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_session_login_then_cookie_authenticates(client, users):
    response = _login(client)
    assert response.status_code == 200
    assert response.json["user"]["username"] == "alice" and response.json["csrf_token"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    assert client.get(f"{API}/user").json["username"] == "alice"
    assert client.get(f"{API}/session").json["csrf_token"] == response.json["csrf_token"]
    assert client.delete(f"{API}/session").status_code == 204
    assert client.get(f"{API}/user").status_code == 401


def test_session_writes_need_the_csrf_header(client, users):
    csrf = _login(client).json["csrf_token"]
    body = {"name": "alice/app"}
    refused = client.post(f"{API}/repositories", json=body)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "CSRF_FAILED"
    wrong = client.post(f"{API}/repositories", json=body, headers={"X-CSRF-Token": "x" + csrf})
    assert wrong.status_code == 403
    ok = client.post(f"{API}/repositories", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201


def test_wrong_login_is_401_and_tokens_cannot_open_sessions(client, users):
    assert _login(client, password="wrong password!").status_code == 401
    assert _login(client, name="nobody").status_code == 401
    assert _login(client, password=_token(client)).status_code == 401
    assert client.post(f"{API}/session", json={"username": "alice"}).status_code == 400


def test_session_of_a_disabled_user_ends(client, users, uow):
    _login(client)
    accounts.set_disabled(uow, "alice", True)
    response = client.get(f"{API}/user")
    assert response.status_code == 401
    assert client.get(f"{API}/user").status_code == 401  # the cookie was cleared


def test_basic_with_password_or_token_and_bearer(client, users):
    secret = _token(client)
    for headers in (basic("alice"), basic("alice", secret), bearer(secret)):
        assert client.get(f"{API}/user", headers=headers).json["username"] == "alice"


def test_bad_credentials_are_401_not_anonymous(client, users):
    for headers in (
        basic("alice", "wrong password!"),
        bearer("wharf_pat_nope"),
        {"Authorization": "Digest abc"},
        {"Authorization": "Basic !!!"},
        basic("al\x00ice"),
        basic("alice", "pass\x00word"),
        bearer(""),
    ):
        response = client.get(f"{API}/repositories", headers=headers)
        assert response.status_code == 401, headers
        assert response.json["error"]["code"] == "UNAUTHORIZED"


def test_access_tokens_cannot_manage_accounts(client, users):
    token = bearer(_token(client))
    for method, path in (
        ("get", "/tokens"),
        ("post", "/orgs"),
        ("delete", "/users/alice"),
        ("post", "/namespaces/alice/robots"),
    ):
        response = getattr(client, method)(f"{API}{path}", json={}, headers=token)
        assert response.status_code == 403, path
        assert response.json["error"]["code"] == "DENIED"
    assert client.get(f"{API}/user", headers=basic("alice")).status_code == 200


def test_token_scopes_limit_repository_actions(client, users, make_repo):
    make_repo("alice/app")
    make_repo("alice/other")
    token = bearer(_token(client, scopes=[{"repository": "alice/app", "actions": ["pull"]}]))
    assert client.get(f"{API}/repositories/alice/app", headers=token).status_code == 200
    assert client.get(f"{API}/repositories/alice/other", headers=token).status_code == 404
    names = [r["full_name"] for r in client.get(f"{API}/repositories", headers=token).json["items"]]
    assert names == ["alice/app"]
    assert client.delete(f"{API}/repositories/alice/app", headers=token).status_code == 403


NEW_PASSWORD = "another long enough password"
SCOPES = [{"repository": "alice/*", "actions": ["pull"]}]


def test_a_password_change_ends_the_session(client, users, uow):
    """An administrator's reset (or a change made elsewhere) ends every session: it can no
    longer read, nor mint an access token with the old login."""
    csrf = _login(client).json["csrf_token"]
    accounts.set_password(uow, "alice", NEW_PASSWORD)
    minted = client.post(
        f"{API}/tokens", json={"name": "late", "scopes": SCOPES}, headers={"X-CSRF-Token": csrf}
    )
    assert minted.status_code == 401 and minted.json["error"]["code"] == "UNAUTHORIZED"
    assert client.get(f"{API}/user").status_code == 401
    assert _login(client, password=NEW_PASSWORD).status_code == 200
    assert client.get(f"{API}/user").status_code == 200


def test_changing_ones_own_password_keeps_this_session_only(app, users):
    mine, elsewhere, admin = app.test_client(), app.test_client(), app.test_client()
    csrf = _login(mine).json["csrf_token"]
    _login(elsewhere)
    _login(admin, name="carol")
    changed = mine.put(
        f"{API}/users/alice/password",
        headers={"X-CSRF-Token": csrf},
        json={"old_password": PASSWORD, "password": NEW_PASSWORD},
    )
    assert changed.status_code == 204
    assert mine.get(f"{API}/user").json["username"] == "alice"
    assert (
        mine.post(
            f"{API}/tokens", json={"name": "ok", "scopes": SCOPES}, headers={"X-CSRF-Token": csrf}
        ).status_code
        == 201
    )
    assert elsewhere.get(f"{API}/user").status_code == 401
    assert admin.get(f"{API}/user").json["username"] == "carol"  # other users unaffected


def test_an_administrators_reset_ends_the_users_sessions_not_the_administrators(app, users):
    alice, carol = app.test_client(), app.test_client()
    _login(alice)
    csrf = _login(carol, name="carol").json["csrf_token"]
    reset = carol.put(
        f"{API}/users/alice/password",
        json={"password": NEW_PASSWORD},
        headers={"X-CSRF-Token": csrf},
    )
    assert reset.status_code == 204
    assert alice.get(f"{API}/user").status_code == 401
    assert carol.get(f"{API}/user").json["username"] == "carol"


def test_a_disabled_then_enabled_account_does_not_revive_old_sessions(client, users, uow):
    _login(client)
    accounts.set_disabled(uow, "alice", True)
    accounts.set_disabled(uow, "alice", False)
    assert client.get(f"{API}/user").status_code == 401


def test_the_session_login_is_throttled_per_address(client, users):
    home, away = {"REMOTE_ADDR": "192.0.2.1"}, {"REMOTE_ADDR": "198.51.100.7"}

    def login(name, password, address):
        return client.post(
            f"{API}/session", json={"username": name, "password": password}, environ_base=address
        ).status_code

    for name in ("alice", "nobody"):
        assert [login(name, "wrong password!", home) for _ in range(4)] == [401, 401, 401, 429]
    assert login("alice", PASSWORD, home) == 429
    assert login("alice", PASSWORD, away) == 200


def test_bearer_token_guessing_is_throttled(client, users):
    secret = _token(client)
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    home, away = {"REMOTE_ADDR": "192.0.2.1"}, {"REMOTE_ADDR": "198.51.100.7"}

    def use(token, address):
        return client.get(f"{API}/user", headers=bearer(token), environ_base=address)

    assert [use(wrong, home).status_code for _ in range(4)] == [401, 401, 401, 429]
    assert use(secret, home).status_code == 429  # the token guessed at is locked out here
    assert use(secret, away).status_code == 200
    other = _token(client)  # another token (another public id) is not
    assert use(other, home).status_code == 200


@pytest.mark.parametrize("proxies", [0, 1])
def test_the_client_address_comes_from_trusted_proxies_only(settings, database, proxies):
    """Behind INDEX_TRUSTED_PROXIES proxies the address is the one they put in
    X-Forwarded-For; otherwise that header is the client's own claim and is ignored."""
    app = create_app(replace(settings, trusted_proxies=proxies), pool=database)
    client = app.test_client()
    accounts.create_user(app.extensions["wharf_index"].uow(), "alice", "a@example.test", PASSWORD)
    proxy = {"REMOTE_ADDR": "10.0.0.2"}

    def login(password, forwarded):
        return client.post(
            f"{API}/session",
            json={"username": "alice", "password": password},
            headers={"X-Forwarded-For": forwarded},
            environ_base=proxy,
        ).status_code

    for _ in range(3):
        login("wrong password!", "192.0.2.1")
    assert login(PASSWORD, "192.0.2.1") == 429
    assert login(PASSWORD, "198.51.100.7") == (200 if proxies else 429)
