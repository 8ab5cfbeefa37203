"""Access tokens and robots: the secret is shown once; list; revoke."""

from __future__ import annotations

from tests.api.conftest import API, basic, bearer

SCOPES = [{"repository": "alice/*", "actions": ["pull", "push"]}]


def test_create_list_revoke(client, users):
    created = client.post(
        f"{API}/tokens",
        json={"name": "ci", "scopes": SCOPES, "expires_in_days": 30},
        headers=basic("alice"),
    )
    assert created.status_code == 201
    secret, token = created.json["secret"], created.json["token"]
    assert secret.startswith("wharf_pat_") and token["expires_at"]
    listed = client.get(f"{API}/tokens", headers=basic("alice")).json
    assert [t["id"] for t in listed["items"]] == [token["id"]]
    # the secret part (after "wharf_pat_<12-char public id>_") may itself contain "_"
    assert secret not in str(listed) and secret[len("wharf_pat_") + 13 :] not in str(listed)
    assert client.get(f"{API}/user", headers=bearer(secret)).status_code == 200
    assert client.delete(f"{API}/tokens/{token['id']}", headers=basic("bob")).status_code == 404
    assert client.delete(f"{API}/tokens/{token['id']}", headers=basic("alice")).status_code == 204
    assert client.get(f"{API}/user", headers=bearer(secret)).status_code == 401
    listed = client.get(f"{API}/tokens", headers=basic("alice")).json["items"]
    assert listed[0]["revoked_at"]


def test_bad_token_requests(client, users):
    for body in (
        {"name": "x", "scopes": []},
        {"name": "x"},
        {"name": "x", "scopes": [{"repository": "alice/*", "actions": ["fly"]}]},
        {"name": "x", "scopes": SCOPES, "expires_in_days": 0},
        {"name": "x", "scopes": [{"repository": "Bad Name", "actions": ["pull"]}]},
    ):
        response = client.post(f"{API}/tokens", json=body, headers=basic("alice"))
        assert response.status_code == 400, body
    assert client.get(f"{API}/tokens?user=alice", headers=basic("bob")).status_code == 403
    assert client.get(f"{API}/tokens?user=alice", headers=basic("carol")).status_code == 200


def test_robots(client, users, make_repo):
    make_repo("alice/app")
    body = {"name": "ci", "scopes": [{"repository": "alice/app", "actions": ["pull"]}]}
    assert (
        client.post(f"{API}/namespaces/alice/robots", json=body, headers=basic("bob")).status_code
        == 403
    )
    created = client.post(f"{API}/namespaces/alice/robots", json=body, headers=basic("alice"))
    assert created.status_code == 201 and created.json["robot"]["username"] == "alice+ci"
    robot = bearer(created.json["secret"])
    assert client.get(f"{API}/repositories/alice/app", headers=robot).status_code == 200
    robots = client.get(f"{API}/namespaces/alice/robots", headers=basic("alice")).json
    assert [r["username"] for r in robots["items"]] == ["alice+ci"]
    more = client.post(f"{API}/robots/alice+ci/tokens", json=body, headers=basic("alice"))
    assert more.status_code == 201
    tokens = client.get(f"{API}/robots/alice+ci/tokens", headers=basic("alice")).json["items"]
    assert len(tokens) == 2
    assert client.get(f"{API}/robots/alice+ci/tokens", headers=basic("bob")).status_code == 403
