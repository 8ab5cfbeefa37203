"""Comments: add, list, delete own; moderation by repository administrators."""

from __future__ import annotations

from tests.api.conftest import API, basic

URL = f"{API}/repositories/alice/app/-/comments"


def _comment(client, who, body="nice image"):
    response = client.post(URL, json={"body": body}, headers=basic(who))
    assert response.status_code == 201, response.json
    return response.json


def test_add_and_list(client, users, make_repo):
    make_repo("alice/app", visibility="public")
    first = _comment(client, "bob", "first")
    _comment(client, "alice", "second")
    assert first["author"] == "bob" and first["created_at"].endswith("+00:00")
    assert client.post(URL, json={"body": "x"}).status_code == 401
    assert client.post(URL, json={"body": ""}, headers=basic("bob")).status_code == 400
    page = client.get(f"{URL}?limit=1").json
    assert [c["body"] for c in page["items"]] == ["first"]
    rest = client.get(f"{URL}?cursor={page['next']}").json
    assert [c["body"] for c in rest["items"]] == ["second"] and rest["next"] is None


def test_delete_own_and_moderation(client, users, make_repo, make_user):
    make_repo("alice/app", visibility="public")
    make_user("dave")
    by_bob = _comment(client, "bob")
    by_dave = _comment(client, "dave")
    denied = client.delete(f"{URL}/{by_bob['id']}", headers=basic("dave"))
    assert denied.status_code == 403
    assert client.delete(f"{URL}/{by_bob['id']}", headers=basic("bob")).status_code == 204
    assert client.delete(f"{URL}/{by_dave['id']}", headers=basic("alice")).status_code == 204
    assert client.get(URL).json["items"] == []
    assert client.delete(f"{URL}/{by_dave['id']}", headers=basic("alice")).status_code == 404


def test_comment_ids_belong_to_their_repository(client, users, make_repo):
    make_repo("alice/app", visibility="public")
    make_repo("bob/other", visibility="public")
    comment = _comment(client, "bob")
    other = f"{API}/repositories/bob/other/-/comments/{comment['id']}"
    assert client.delete(other, headers=basic("bob")).status_code == 404
    huge = f"{URL}/99999999999999999999999"
    assert client.delete(huge, headers=basic("bob")).status_code == 404
