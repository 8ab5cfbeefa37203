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


def test_edit_own_and_moderation(client, users, make_repo, make_user, sql):
    make_repo("alice/app", visibility="public")
    make_user("dave")
    by_bob = _comment(client, "bob", "first words")
    url = f"{URL}/{by_bob['id']}"

    edited = client.patch(url, json={"body": "better words"}, headers=basic("bob"))
    assert edited.status_code == 200, edited.json
    assert edited.json["body"] == "better words" and edited.json["author"] == "bob"
    assert edited.json["updated_at"] >= by_bob["updated_at"]
    assert client.patch(url, json={"body": "defaced"}, headers=basic("dave")).status_code == 403
    assert client.patch(url, json={"body": "x"}).status_code == 401
    assert client.patch(url, json={"body": " "}, headers=basic("bob")).status_code == 400
    assert client.patch(url, json={}, headers=basic("bob")).status_code == 400
    moderated = client.patch(url, json={"body": "[removed]"}, headers=basic("alice"))
    assert moderated.status_code == 200
    assert [c["body"] for c in client.get(URL).json["items"]] == ["[removed]"]
    audited = sql(
        "SELECT detail->>'change', detail->>'author' FROM audit_log"
        " WHERE action = 'comment.moderate'"
    )
    assert audited == [("edit", "bob")]
    missing = client.patch(f"{URL}/99999", json={"body": "x"}, headers=basic("bob"))
    assert missing.status_code == 404


def test_edit_on_a_private_repository_is_not_found_for_outsiders(client, users, make_repo):
    make_repo("alice/app", visibility="private")
    mine = _comment(client, "alice", "private words")
    response = client.patch(f"{URL}/{mine['id']}", json={"body": "x"}, headers=basic("bob"))
    assert response.status_code == 404
