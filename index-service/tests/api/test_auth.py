"""API authentication: session cookie with CSRF, Basic (password or token), Bearer."""

from __future__ import annotations

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
    for headers in (basic("alice", "wrong password!"), bearer("wharf_pat_nope"),
                    {"Authorization": "Digest abc"}, {"Authorization": "Basic !!!"},
                    basic("al\x00ice"), basic("alice", "pass\x00word"),
                    bearer("")):  # fmt: skip
        response = client.get(f"{API}/repositories", headers=headers)
        assert response.status_code == 401, headers
        assert response.json["error"]["code"] == "UNAUTHORIZED"


def test_access_tokens_cannot_manage_accounts(client, users):
    token = bearer(_token(client))
    for method, path in (("get", "/tokens"), ("post", "/orgs"), ("delete", "/users/alice"),
                         ("post", "/namespaces/alice/robots")):  # fmt: skip
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
