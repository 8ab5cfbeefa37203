"""Users: the signed-in user, the directory, creation, updates, passwords, deletion."""

from __future__ import annotations

from tests.api.conftest import API, basic, bearer
from tests.conftest import PASSWORD

NEW = {"username": "dave", "email": "dave@example.test", "password": PASSWORD}


def test_current_user(client, users):
    body = client.get(f"{API}/user", headers=basic("alice")).json
    assert body["username"] == "alice" and body["email"] == "alice@example.test"
    assert body["created_at"].endswith("+00:00") and "T" in body["created_at"]


def test_directory_is_for_administrators(client, users):
    assert client.get(f"{API}/users", headers=basic("alice")).status_code == 403
    body = client.get(f"{API}/users?limit=2", headers=basic("carol")).json
    assert [u["username"] for u in body["items"]] == ["alice", "bob"]
    rest = client.get(f"{API}/users?cursor={body['next']}", headers=basic("carol")).json
    assert [u["username"] for u in rest["items"]] == ["carol"] and rest["next"] is None


def test_admin_creates_users_others_cannot(client, users):
    assert client.post(f"{API}/users", json=NEW, headers=basic("alice")).status_code == 403
    response = client.post(f"{API}/users", json=NEW, headers=basic("carol"))
    assert response.status_code == 201 and response.json["username"] == "dave"
    again = client.post(f"{API}/users", json=NEW, headers=basic("carol"))
    assert again.status_code == 409 and again.json["error"]["code"] == "USERNAME_TAKEN"


def test_validation_errors_name_the_fields(client, users):
    response = client.post(
        f"{API}/users", json={"username": "", "extra": 1, "admin": "x"}, headers=basic("carol")
    )
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert {"username", "email", "password", "extra", "admin"} <= set(error["detail"])
    for body in ("not json", "[1, 2]", '{"username": "a\\u0000b"}', '{"username": "\\ud800"}'):
        response = client.post(
            f"{API}/users", data=body, content_type="application/json", headers=basic("carol")
        )
        assert response.status_code == 400, body
        assert response.json["error"]["code"] == "VALIDATION_FAILED"


def test_profiles_hide_emails_and_robots(client, users):
    assert "email" not in client.get(f"{API}/users/alice", headers=basic("bob")).json
    assert "email" not in client.get(f"{API}/users/alice").json
    assert client.get(f"{API}/users/alice", headers=basic("carol")).json["email"]
    assert client.get(f"{API}/users/ghost").json["error"]["code"] == "USER_UNKNOWN"


def test_admin_updates_users(client, users):
    body = {"admin": True}
    assert client.patch(f"{API}/users/bob", json=body, headers=basic("alice")).status_code == 403
    assert client.patch(f"{API}/users/bob", json=body, headers=basic("carol")).json["is_admin"]
    disabled = client.patch(f"{API}/users/bob", json={"disabled": True}, headers=basic("carol"))
    assert disabled.json["disabled"] is True
    assert client.get(f"{API}/user", headers=basic("bob")).status_code == 401


def test_password_changes(client, users):
    url = f"{API}/users/alice/password"
    new = "another long passphrase"
    assert client.put(url, json={"password": new}, headers=basic("alice")).status_code == 400
    assert client.put(url, json={"password": new}, headers=basic("bob")).status_code == 403
    wrong = {"password": new, "old_password": "not the password"}
    assert client.put(url, json=wrong, headers=basic("alice")).status_code == 401
    ok = client.put(url, json={"password": new, "old_password": PASSWORD}, headers=basic("alice"))
    assert ok.status_code == 204
    assert client.get(f"{API}/user", headers=basic("alice", new)).status_code == 200
    assert client.put(url, json={"password": PASSWORD}, headers=basic("carol")).status_code == 204


def test_delete_self_or_by_admin(client, users):
    assert client.delete(f"{API}/users/alice", headers=basic("bob")).status_code == 403
    assert client.delete(f"{API}/users/alice", headers=basic("alice")).status_code == 204
    assert client.delete(f"{API}/users/bob", headers=basic("carol")).status_code == 204
    assert client.get(f"{API}/users/bob").status_code == 404


# -- one's own email address (PATCH /user) ----------------------------------------------------


def test_own_email_is_changed_with_the_password(client, users, sql):
    url = f"{API}/user"
    changed = client.patch(
        url, json={"email": "Alice@New.example", "password": PASSWORD}, headers=basic("alice")
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["email"] == "Alice@New.example" and changed.json["username"] == "alice"
    assert client.get(url, headers=basic("alice")).json["email"] == "Alice@New.example"
    same_in_other_case = {"email": "alice@new.example", "password": PASSWORD}
    assert client.patch(url, json=same_in_other_case, headers=basic("alice")).status_code == 200
    audited = sql("SELECT actor_name, target FROM audit_log WHERE action = 'user.set_email'")
    assert audited == [("alice", "alice"), ("alice", "alice")]


def test_an_email_in_use_or_invalid_is_refused(client, users):
    url = f"{API}/user"
    taken = client.patch(
        url, json={"email": "BOB@example.test", "password": PASSWORD}, headers=basic("alice")
    )
    assert taken.status_code == 409
    assert taken.json["error"]["code"] == "CONFLICT"
    assert taken.json["error"]["detail"] == {"field": "email"}
    for email in ("", "no-at-sign", "a@b", "two@@x.test", " pad@x.test", "x" * 250 + "@x.test"):
        bad = client.patch(url, json={"email": email, "password": PASSWORD}, headers=basic("alice"))
        assert bad.status_code == 400, email
        assert (
            bad.json["error"]["code"] == "VALIDATION_FAILED"
            and bad.json["error"]["detail"]["email"]
        ), email
    for body in ({"email": "a@x.test"}, {"password": PASSWORD}, {}, {"email": "a@x.test",
                 "password": PASSWORD, "admin": True}):  # fmt: skip
        assert client.patch(url, json=body, headers=basic("alice")).status_code == 400, body
    assert client.get(url, headers=basic("alice")).json["email"] == "alice@example.test"


def test_email_change_needs_the_current_password_and_a_password_login(client, users, sql):
    url = f"{API}/user"
    body = {"email": "alice2@example.test", "password": "not the password"}
    assert client.patch(url, json=body).status_code == 401
    wrong = client.patch(url, json=body, headers=basic("alice"))
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "UNAUTHORIZED"
    created = client.post(
        f"{API}/tokens",
        json={"name": "t", "scopes": [{"repository": "*", "actions": ["pull"]}]},
        headers=basic("alice"),
    ).json
    body["password"] = PASSWORD
    as_token = client.patch(url, json=body, headers=bearer(created["secret"]))
    assert as_token.status_code == 403
    with_token_as_password = {"email": "alice2@example.test", "password": created["secret"]}
    assert client.patch(url, json=with_token_as_password, headers=basic("alice")).status_code == 401
    for _ in range(3):  # the check is throttled like a login (threshold 3 in the tests)
        client.patch(url, json={**body, "password": "wrong again"}, headers=basic("alice"))
    throttled = client.patch(url, json=body, headers=basic("alice"))
    assert throttled.status_code == 429 and throttled.headers["Retry-After"]
    assert sql("SELECT email FROM users WHERE username = 'alice'") == [("alice@example.test",)]


def test_email_change_with_the_session_needs_the_csrf_token(client, users):
    signed_in = client.post(f"{API}/session", json={"username": "bob", "password": PASSWORD})
    body = {"email": "bob@elsewhere.example", "password": PASSWORD}
    assert client.patch(f"{API}/user", json=body).status_code == 403
    csrf = {"X-CSRF-Token": signed_in.json["csrf_token"]}
    assert client.patch(f"{API}/user", json=body, headers=csrf).json["email"] == body["email"]
