"""The audit log: administrators see everything, users their own actions."""

from __future__ import annotations

from tests.api.conftest import API, basic


def test_users_see_their_own_admins_see_all(client, users, make_repo):
    client.post(f"{API}/repositories", json={"name": "alice/app"}, headers=basic("alice"))
    client.post(f"{API}/repositories", json={"name": "bob/app"}, headers=basic("bob"))
    mine = client.get(f"{API}/audit", headers=basic("alice")).json["items"]
    assert [(e["actor"], e["action"], e["target"]) for e in mine] == [
        ("alice", "repository.create", "alice/app")
    ]
    assert mine[0]["at"].endswith("+00:00")
    assert client.get(f"{API}/audit?actor=bob", headers=basic("alice")).status_code == 403
    assert client.get(f"{API}/audit").status_code == 401
    everything = client.get(f"{API}/audit", headers=basic("carol")).json["items"]
    assert {e["target"] for e in everything} >= {"alice/app", "bob/app", "alice", "bob"}
    bobs = client.get(f"{API}/audit?actor=bob", headers=basic("carol")).json["items"]
    assert [e["target"] for e in bobs] == ["bob/app"]
    newest_first = client.get(f"{API}/audit?limit=1", headers=basic("carol")).json
    assert newest_first["items"][0]["target"] == "bob/app" and newest_first["next"]
    in_alice = client.get(f"{API}/audit?namespace=alice", headers=basic("carol")).json["items"]
    assert {e["target"] for e in in_alice} == {"alice", "alice/app"}
