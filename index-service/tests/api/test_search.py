"""Search: ranked trigram search, private repositories only for those who may see them,
pagination, and hostile input (SQL, wildcards) answered normally or with 400."""

from __future__ import annotations

import pytest

from tests.api.conftest import API, basic


@pytest.fixture
def corpus(make_repo):
    make_repo("alice/nginx", visibility="public", description="web server")
    make_repo("alice/nginx-exporter", visibility="public", description="metrics")
    make_repo("bob/web", visibility="public", description="a proxy built on nginx")
    make_repo("alice/nginx-private", description="secret nginx build")
    make_repo("bob/postgres", visibility="public", description="database")


def _names(client, q, headers=None, extra=""):
    response = client.get(f"{API}/search?q={q}{extra}", headers=headers)
    assert response.status_code == 200, response.json
    return [r["full_name"] for r in response.json["items"]]


def test_ranked_and_filtered_by_visibility(client, users, corpus):
    found = _names(client, "nginx")
    assert found[0] == "alice/nginx"
    assert set(found) == {"alice/nginx", "alice/nginx-exporter", "bob/web"}
    assert found.index("bob/web") == 2  # a description match ranks below name matches
    assert "alice/nginx-private" in _names(client, "nginx", basic("alice"))
    assert "alice/nginx-private" not in _names(client, "nginx", basic("bob"))
    assert _names(client, "nginx", extra="&namespace=bob") == ["bob/web"]
    assert "alice/nginx" in _names(client, "NGINX")  # case-insensitive


def test_search_pages_follow_the_rank(client, users, corpus):
    everything = _names(client, "nginx", basic("alice"))
    seen, cursor = [], ""
    while True:
        body = client.get(f"{API}/search?q=nginx&limit=1{cursor}", headers=basic("alice")).json
        seen += [r["full_name"] for r in body["items"]]
        if body["next"] is None:
            break
        cursor = f"&cursor={body['next']}"
    assert seen == everything and len(seen) == 4


@pytest.mark.parametrize(
    "q",
    [
        "' OR 1=1 --",
        "%",
        "_",
        "\\",
        "'; DROP TABLE repositories; --",
        "nginx%' --",
        '"',
        "a" * 200,
        "%25",
        "(select 1)",
        "\u00e9\u4e2d",
    ],
)
def test_hostile_queries_are_just_text(client, users, corpus, q):
    from urllib.parse import quote

    response = client.get(f"{API}/search?q={quote(q)}", headers=basic("bob"))
    assert response.status_code == 200, response.json
    assert "alice/nginx-private" not in str(response.json)
    assert _names(client, "postgres") == ["bob/postgres"]  # the table is still there


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?q=",
        "?q=%20",
        "?q=" + "a" * 201,
        "?q=a%00b",
        "?q=x&namespace=" + "n" * 65,
        "?q=x&limit=0",
        "?q=x&limit=abc",
        "?q=x&limit=-1",
    ],
)
def test_bad_search_parameters_are_400(client, users, query):
    response = client.get(f"{API}/search{query}")
    assert response.status_code == 400, query
    assert response.json["error"]["code"] == "VALIDATION_FAILED"
