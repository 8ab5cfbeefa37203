"""Organisations, members, teams, team members and repository grants."""

from __future__ import annotations

import pytest

from tests.api.conftest import API, basic


@pytest.fixture
def acme(client, users):
    created = client.post(f"{API}/orgs", json={"name": "acme"}, headers=basic("alice"))
    assert created.status_code == 201 and created.json["name"] == "acme"
    return f"{API}/orgs/acme"


def test_create_list_get(client, users, acme):
    assert client.get(f"{API}/orgs").json["items"][0]["name"] == "acme"
    assert client.get(acme).json["name"] == "acme"
    assert client.get(f"{API}/orgs/ghost").json["error"]["code"] == "ORGANISATION_UNKNOWN"
    other = client.post(
        f"{API}/orgs", json={"name": "beta", "owner": "alice"}, headers=basic("bob")
    )
    assert other.status_code == 403
    reserved = client.post(f"{API}/orgs", json={"name": "admin"}, headers=basic("bob"))
    assert reserved.status_code == 400 and reserved.json["error"]["code"] == "NAME_RESERVED"


def test_members(client, users, acme):
    assert client.get(f"{acme}/members", headers=basic("bob")).status_code == 403
    assert client.put(f"{acme}/members/bob", json={}, headers=basic("bob")).status_code == 403
    assert client.put(f"{acme}/members/bob", json={}, headers=basic("alice")).status_code == 204
    members = client.get(f"{acme}/members", headers=basic("bob")).json["items"]
    assert members == [
        {"username": "alice", "is_owner": True},
        {"username": "bob", "is_owner": False},
    ]
    last_owner = client.delete(f"{acme}/members/alice", headers=basic("alice"))
    assert last_owner.status_code == 409 and last_owner.json["error"]["code"] == "CONFLICT"
    assert client.delete(f"{acme}/members/bob", headers=basic("alice")).status_code == 204


def test_teams_and_grants(client, users, acme, make_repo):
    make_repo("acme/app", owner="alice")
    body = {"name": "devs", "role": "write"}
    assert client.post(f"{acme}/teams", json=body, headers=basic("bob")).status_code == 403
    team = client.post(f"{acme}/teams", json=body, headers=basic("alice"))
    assert team.status_code == 201 and team.json["role"] == "write"
    bad = client.post(f"{acme}/teams", json={"name": "x", "role": "god"}, headers=basic("alice"))
    assert bad.status_code == 400
    devs = f"{acme}/teams/devs"
    assert client.put(f"{devs}/members/bob", headers=basic("alice")).status_code == 204
    assert client.get(f"{API}/repositories/acme/app", headers=basic("bob")).status_code == 404
    assert client.put(f"{devs}/repositories/acme/app", headers=basic("alice")).status_code == 204
    repo = client.get(f"{API}/repositories/acme/app", headers=basic("bob")).json
    assert repo["permissions"]["push"] and not repo["permissions"]["delete"]
    assert client.get(f"{devs}/members", headers=basic("bob")).json["items"] == [{"name": "bob"}]
    granted = client.get(f"{devs}/repositories", headers=basic("bob")).json["items"]
    assert granted == [{"name": "acme/app"}]
    changed = client.patch(devs, json={"role": "admin"}, headers=basic("alice"))
    assert changed.json["role"] == "admin"
    assert client.get(devs, headers=basic("bob")).json["role"] == "admin"
    assert client.get(f"{acme}/teams", headers=basic("bob")).json["items"][0]["name"] == "devs"
    assert client.delete(f"{devs}/repositories/acme/app", headers=basic("alice")).status_code == 204
    assert client.get(f"{API}/repositories/acme/app", headers=basic("bob")).status_code == 404
    assert client.delete(f"{devs}/members/bob", headers=basic("alice")).status_code == 204
    assert client.delete(devs, headers=basic("alice")).status_code == 204
    assert client.get(devs, headers=basic("alice")).status_code == 404


def test_grants_only_for_the_orgs_repositories(client, users, acme, make_repo):
    make_repo("bob/app")
    client.post(f"{acme}/teams", json={"name": "devs", "role": "read"}, headers=basic("alice"))
    response = client.put(f"{acme}/teams/devs/repositories/bob/app", headers=basic("alice"))
    assert response.status_code == 404
    assert response.json["error"]["code"] == "REPOSITORY_UNKNOWN"
