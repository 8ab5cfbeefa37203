"""Users: the signed-in user, the directory, creation, updates, passwords, deletion."""

from __future__ import annotations

from tests.api.conftest import API, basic
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
