"""Repositories: create, get, list, change, delete (scenario C steps 1-2), namespace default."""

from __future__ import annotations

from wharf_index.services.repositories import MAX_README

from tests.api.conftest import API, basic, bearer


def test_create_and_get(client, users):
    body = {"name": "alice/app", "visibility": "public", "description": "an app"}
    created = client.post(f"{API}/repositories", json=body, headers=basic("alice"))
    assert created.status_code == 201
    assert created.json["full_name"] == "alice/app" and created.json["namespace"] == "alice"
    got = client.get(f"{API}/repositories/alice/app").json
    assert got["description"] == "an app" and got["star_count"] == 0
    assert got["permissions"] == {"pull": True, "push": False, "delete": False, "admin": False}
    mine = client.get(f"{API}/repositories/alice/app", headers=basic("alice")).json
    assert all(mine["permissions"].values())


def test_create_refusals(client, users):
    post = client.post
    assert post(f"{API}/repositories", json={"name": "alice/app"}).status_code == 401
    denied = post(f"{API}/repositories", json={"name": "alice/app"}, headers=basic("bob"))
    assert denied.status_code == 403
    for name in ("alice", "Alice/App", "alice/a b", "../etc", "x' OR '1'='1/y"):
        response = post(f"{API}/repositories", json={"name": name}, headers=basic("alice"))
        assert response.status_code == 400, name
    post(f"{API}/repositories", json={"name": "alice/app"}, headers=basic("alice"))
    again = post(f"{API}/repositories", json={"name": "alice/app"}, headers=basic("alice"))
    assert again.status_code == 409 and again.json["error"]["code"] == "REPOSITORY_EXISTS"
    bad = post(
        f"{API}/repositories",
        json={"name": "alice/b", "visibility": "secret"},
        headers=basic("alice"),
    )
    assert bad.json["error"]["detail"]["visibility"]


def test_default_visibility_is_the_namespace_default(client, users):
    client.post(f"{API}/repositories", json={"name": "alice/one"}, headers=basic("alice"))
    assert client.get(f"{API}/repositories/alice/one").status_code == 404  # private
    body = {"default_visibility": "public"}
    assert (
        client.patch(f"{API}/namespaces/alice", json=body, headers=basic("bob")).status_code == 403
    )
    assert (
        client.patch(f"{API}/namespaces/alice", json=body, headers=basic("alice")).status_code
        == 204
    )
    client.post(f"{API}/repositories", json={"name": "alice/two"}, headers=basic("alice"))
    assert client.get(f"{API}/repositories/alice/two").json["visibility"] == "public"


def test_update_visibility_and_description(client, users, make_repo):
    make_repo("alice/app", visibility="public")
    url = f"{API}/repositories/alice/app"
    assert (
        client.patch(url, json={"visibility": "private"}, headers=basic("bob")).status_code == 403
    )
    assert client.patch(url, json={}, headers=basic("alice")).status_code == 400
    changed = client.patch(
        url, json={"visibility": "private", "description": "new"}, headers=basic("alice")
    )
    assert changed.status_code == 200
    assert changed.json["visibility"] == "private" and changed.json["description"] == "new"
    assert client.get(url).status_code == 404


def test_list_visible_and_by_namespace(client, users, make_repo):
    make_repo("alice/pub", visibility="public")
    make_repo("alice/priv")
    make_repo("bob/pub", visibility="public")

    def names(headers=None, query=""):
        body = client.get(f"{API}/repositories{query}", headers=headers).json
        return [r["full_name"] for r in body["items"]]

    assert names() == ["alice/pub", "bob/pub"]
    assert names(basic("alice")) == ["alice/priv", "alice/pub", "bob/pub"]
    assert names(basic("alice"), "?namespace=bob") == ["bob/pub"]
    assert client.get(f"{API}/repositories?namespace=ghost").status_code == 404


def test_delete_without_registry_removes_the_records_and_answers_202(client, users, make_repo):
    # No registry serves alice: nothing to call (tests/service/test_deletion.py covers the
    # registry side of scenario C).
    make_repo("alice/app", visibility="public")
    url = f"{API}/repositories/alice/app"
    assert client.delete(url).status_code == 401
    assert client.delete(url, headers=basic("bob")).status_code == 403
    response = client.delete(url, headers=basic("alice"))
    assert response.status_code == 202
    assert response.json["status"] == "deleted" and response.json["full_name"] == "alice/app"
    listed = client.get(f"{API}/repositories", headers=basic("alice")).json["items"]
    assert listed == []
    assert client.delete(url, headers=basic("alice")).status_code == 404  # gone


# -- the README (full description) -----------------------------------------------------------


def _token(client, actions: list[str]) -> dict[str, str]:
    body = {"name": "ci", "scopes": [{"repository": "alice/*", "actions": actions}]}
    created = client.post(f"{API}/tokens", json=body, headers=basic("alice"))
    assert created.status_code == 201, created.json
    return bearer(created.json["secret"])


def test_readme_is_set_and_read_on_the_repository_only(client, users, make_repo):
    make_repo("alice/app", visibility="public", description="short words")
    url = f"{API}/repositories/alice/app"
    assert client.get(url).json["readme"] == ""
    text = "# App\n\nLong *words* <script>alert(1)</script>\n" + "more words " * 500
    changed = client.patch(url, json={"readme": text}, headers=basic("alice"))
    assert changed.status_code == 200, changed.json
    assert changed.json["readme"] == text and changed.json["description"] == "short words"
    assert client.get(url).json["readme"] == text  # stored as given, escaped by the page
    assert client.patch(url, json={"readme": ""}, headers=basic("alice")).json["readme"] == ""

    client.patch(url, json={"readme": "zebra-only-in-readme"}, headers=basic("alice"))
    listed = client.get(f"{API}/repositories?namespace=alice").json["items"]
    assert listed and "readme" not in listed[0]
    found = client.get(f"{API}/search?q=zebra-only-in-readme").json["items"]
    assert found == []  # search matches names and short descriptions, never READMEs
    assert client.get(f"{API}/search?q=short").json["items"][0].keys().isdisjoint({"readme"})


def test_readme_of_exactly_the_limit_and_one_more(client, users, make_repo):
    make_repo("alice/app")
    url = f"{API}/repositories/alice/app"
    full = "é" * MAX_README  # characters, not bytes
    assert client.patch(url, json={"readme": full}, headers=basic("alice")).status_code == 200
    too_long = client.patch(url, json={"readme": full + "x"}, headers=basic("alice"))
    assert too_long.status_code == 400
    error = too_long.json["error"]
    assert error["code"] == "VALIDATION_FAILED" and error["detail"]["readme"]
    assert client.get(url, headers=basic("alice")).json["readme"] == full  # unchanged
    for bad in (None, 7, ["x"], {"a": 1}, "nul\x00"):
        answer = client.patch(url, json={"readme": bad}, headers=basic("alice"))
        assert answer.status_code == 400, bad
        assert answer.json["error"]["code"] == "VALIDATION_FAILED", bad
        assert {"readme", "_body"} & answer.json["error"]["detail"].keys(), bad


def test_readme_is_changed_by_repository_admins_only(client, users, make_repo, uow):
    make_repo("alice/app", visibility="public")
    url = f"{API}/repositories/alice/app"
    body = {"readme": "hijacked"}
    assert client.patch(url, json=body).status_code == 401
    assert client.patch(url, json=body, headers=basic("bob")).status_code == 403
    added = client.put(f"{url}/-/collaborators/bob", json={"role": "write"}, headers=basic("alice"))
    assert added.status_code == 204
    assert client.patch(url, json=body, headers=basic("bob")).status_code == 403
    assert client.patch(url, json=body, headers=_token(client, ["pull", "push"])).status_code == 403
    assert client.get(url).json["readme"] == ""
    admin_token = _token(client, ["pull", "admin"])
    assert client.patch(url, json={"readme": "by token"}, headers=admin_token).status_code == 200
    assert client.patch(url, json={"readme": "by carol"}, headers=basic("carol")).status_code == 200
    assert client.get(url).json["readme"] == "by carol"


def test_readme_of_a_private_repository_is_hidden(client, users, make_repo):
    make_repo("alice/secret", visibility="private")
    url = f"{API}/repositories/alice/secret"
    client.patch(url, json={"readme": "secret plans"}, headers=basic("alice"))
    assert client.get(url, headers=basic("alice")).json["readme"] == "secret plans"
    missing = client.get(f"{API}/repositories/alice/nothing")
    for headers in (None, basic("bob")):
        hidden = client.get(url, headers=headers)
        assert hidden.status_code == 404 and "secret plans" not in hidden.get_data(as_text=True)
        assert hidden.json["error"]["code"] == missing.json["error"]["code"]
        refused = client.patch(url, json={"readme": "x"}, headers=headers or basic("bob"))
        assert refused.status_code == 404  # as for a repository that does not exist
    assert client.get(url, headers=basic("alice")).json["readme"] == "secret plans"
