"""Privacy: a private repository is answered, to outsiders, exactly like one that does not
exist -- on every repository path, for anonymous callers, other users and narrow tokens."""

from __future__ import annotations

import pytest

from tests.api.conftest import API, basic

SECRET, GHOST = "alice/secret", "alice/ghost"
PATHS = [
    ("get", "/repositories/{}", None),
    ("patch", "/repositories/{}", {"description": "x"}),
    ("delete", "/repositories/{}", None),
    ("get", "/repositories/{}/-/tags", None),
    ("get", "/repositories/{}/-/tags/latest", None),
    ("get", "/repositories/{}/-/stars", None),
    ("put", "/repositories/{}/-/stars", None),
    ("delete", "/repositories/{}/-/stars", None),
    ("get", "/repositories/{}/-/comments", None),
    ("post", "/repositories/{}/-/comments", {"body": "hello"}),
    ("delete", "/repositories/{}/-/comments/1", None),
    ("get", "/repositories/{}/-/collaborators", None),
    ("put", "/repositories/{}/-/collaborators/bob", {"role": "read"}),
    ("delete", "/repositories/{}/-/collaborators/bob", None),
    ("get", "/repositories/{}/-/registries", None),
    ("get", "/repositories/{}/-/webhooks", None),
    ("post", "/repositories/{}/-/webhooks", {"url": "https://hooks.example.com/"}),
    ("get", "/repositories/{}/-/webhooks/1", None),
    ("patch", "/repositories/{}/-/webhooks/1", {"name": "x"}),
    ("delete", "/repositories/{}/-/webhooks/1", None),
    ("post", "/repositories/{}/-/webhooks/1/ping", None),
    ("get", "/repositories/{}/-/webhooks/1/deliveries", None),
]


@pytest.fixture
def secret(make_repo, add_tag, client):
    make_repo(SECRET, description="top secret")
    add_tag(SECRET, "latest")
    client.post(
        f"{API}/repositories/{SECRET}/-/comments", json={"body": "hi"}, headers=basic("alice")
    )


def _same_as_absent(client, method, path, body, headers):
    seen = getattr(client, method)(f"{API}{path.format(SECRET)}", json=body, headers=headers)
    absent = getattr(client, method)(f"{API}{path.format(GHOST)}", json=body, headers=headers)
    assert seen.status_code == absent.status_code, path
    assert seen.json["error"]["code"] == absent.json["error"]["code"]
    assert seen.json["error"]["message"].replace(SECRET, GHOST) == absent.json["error"]["message"]
    assert {k for k, _ in seen.headers} == {k for k, _ in absent.headers}
    return seen


@pytest.mark.parametrize(("method", "path", "body"), PATHS)
def test_outsider_sees_nothing(client, users, secret, method, path, body):
    seen = _same_as_absent(client, method, path, body, basic("bob"))
    assert seen.status_code == 404 and seen.json["error"]["code"] == "REPOSITORY_UNKNOWN"


@pytest.mark.parametrize(("method", "path", "body"), [p for p in PATHS if p[0] == "get"])
def test_anonymous_sees_nothing(client, users, secret, method, path, body):
    seen = _same_as_absent(client, method, path, body, None)
    # reads that need no sign-in say "unknown"; the others ask for credentials first
    signed_in_only = "collaborators" in path or "webhooks" in path
    assert seen.status_code == (401 if signed_in_only else 404)


def test_owner_sees_it_everywhere(client, users, secret):
    for method, path, _ in PATHS:
        if method == "get" and "collaborators" not in path and "webhooks/" not in path:
            url = f"{API}{path.format(SECRET)}"
            assert client.get(url, headers=basic("alice")).status_code == 200, path


def test_lists_and_search_hide_it(client, users, secret, make_repo, uow):
    make_repo("alice/public-secretary", visibility="public")
    client.put(f"{API}/repositories/{SECRET}/-/stars", headers=basic("alice"))
    for headers in (None, basic("bob")):
        for url in (
            "/repositories",
            "/repositories?namespace=alice",
            "/search?q=secret",
            "/search?q=top",
            "/users/alice/stars",
        ):
            body = client.get(f"{API}{url}", headers=headers).json
            assert SECRET not in str(body), (url, headers)
    body = client.get(f"{API}/search?q=secret", headers=basic("alice")).json
    assert SECRET in [r["full_name"] for r in body["items"]]


def test_collaborators_and_admins_see_it(client, users, secret):
    put = client.put(
        f"{API}/repositories/{SECRET}/-/collaborators/bob",
        json={"role": "read"},
        headers=basic("alice"),
    )
    assert put.status_code == 204
    assert client.get(f"{API}/repositories/{SECRET}", headers=basic("bob")).status_code == 200
    assert client.get(f"{API}/repositories/{SECRET}", headers=basic("carol")).status_code == 200
    listed = client.get(f"{API}/repositories/{SECRET}/-/collaborators", headers=basic("alice"))
    assert listed.json["items"] == [{"username": "bob", "role": "read"}]
    # read access does not allow managing collaborators (visible, so 403 not 404)
    assert (
        client.get(f"{API}/repositories/{SECRET}/-/collaborators", headers=basic("bob")).status_code
        == 403
    )
