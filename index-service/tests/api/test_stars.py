"""Stars: star, unstar, counts, a user's starred repositories."""

from __future__ import annotations

from tests.api.conftest import API, basic


def test_star_unstar_and_counts(client, users, make_repo):
    make_repo("alice/app", visibility="public")
    url = f"{API}/repositories/alice/app/-/stars"
    assert client.put(url).status_code == 401
    assert client.put(url, headers=basic("bob")).json == {
        "repository": "alice/app",
        "star_count": 1,
        "starred": True,
    }
    assert client.put(url, headers=basic("bob")).json["star_count"] == 1  # idempotent
    client.put(url, headers=basic("alice"))
    assert client.get(url).json == {"repository": "alice/app", "star_count": 2, "starred": False}
    assert client.get(f"{API}/repositories/alice/app").json["star_count"] == 2
    assert client.get(f"{API}/repositories").json["items"][0]["star_count"] == 2
    assert client.delete(url, headers=basic("bob")).json == {
        "repository": "alice/app",
        "star_count": 1,
        "starred": False,
    }


def test_users_starred_list_shows_only_visible(client, users, make_repo):
    make_repo("alice/pub", visibility="public")
    make_repo("alice/priv")
    for name in ("alice/pub", "alice/priv"):
        client.put(f"{API}/repositories/{name}/-/stars", headers=basic("alice"))

    def starred(headers):
        body = client.get(f"{API}/users/alice/stars", headers=headers).json
        return [r["full_name"] for r in body["items"]]

    assert starred(basic("alice")) == ["alice/priv", "alice/pub"]
    assert starred(basic("bob")) == ["alice/pub"]
    assert starred(None) == ["alice/pub"]
    assert client.get(f"{API}/users/ghost/stars").status_code == 404
