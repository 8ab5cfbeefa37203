"""Pagination: limits, opaque cursors validated strictly (never a 500 or a SQL error)."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest
from itsdangerous import URLSafeSerializer
from wharf_index.api.rest.pagination import SALT
from wharf_index.app import create_app

from tests.api.conftest import API, basic
from tests.conftest import SECRET_KEY


@pytest.fixture
def many(make_repo):
    for i in range(7):
        make_repo(f"alice/r{i}", visibility="public")


def test_walk_all_pages(client, users, many):
    seen, url = [], f"{API}/repositories?limit=3"
    while url:
        body = client.get(url).json
        assert len(body["items"]) <= 3
        seen += [r["full_name"] for r in body["items"]]
        url = f"{API}/repositories?limit=3&cursor={body['next']}" if body["next"] else None
    assert seen == [f"alice/r{i}" for i in range(7)]


def test_limit_defaults_and_clamps(client, users, many, settings, database):
    body = client.get(f"{API}/repositories").json
    assert len(body["items"]) == 7 and body["next"] is None
    small = create_app(replace(settings, max_page_size=2), pool=database).test_client()
    body = small.get(f"{API}/repositories?limit=1000").json
    assert len(body["items"]) == 2 and body["next"]


def _forged(payload) -> str:
    return URLSafeSerializer(SECRET_KEY, salt=SALT).dumps(payload)


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "' OR 1=1 --",
        "%00",
        "a" * 5000,
        base64.urlsafe_b64encode(json.dumps(["repositories", "alice/r3"]).encode()).decode(),
        URLSafeSerializer("another key", salt=SALT).dumps(["repositories", "alice/r3"]),
    ],
)
def test_malformed_cursors_are_400(client, users, many, cursor):
    response = client.get(f"{API}/repositories", query_string={"cursor": cursor})
    assert response.status_code == 400
    assert response.json["error"]["code"] in ("CURSOR_INVALID", "VALIDATION_FAILED")


@pytest.mark.parametrize(
    "payload",
    [
        ["tags", "alice/r3"],
        ["repositories"],
        ["repositories", 3],
        ["repositories", None],
        ["repositories", "a", "b"],
        {"repositories": "x"},
        "repositories",
        ["repositories", ["alice/r3"]],
    ],
)
def test_cursors_of_other_listings_or_shapes_are_400(client, users, many, payload):
    response = client.get(f"{API}/repositories", query_string={"cursor": _forged(payload)})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "CURSOR_INVALID"


@pytest.mark.parametrize(
    "url",
    [
        "/search?q=x",
        "/audit",
        "/repositories/alice/r1/-/comments",
        "/repositories/alice/r1/-/tags",
        "/users/alice/stars",
        "/tokens",
        "/orgs",
        "/registries",
    ],
)
def test_every_list_checks_its_cursor(client, users, many, url):
    cursor = _forged(["repositories", "alice/r3"])
    sep = "&" if "?" in url else "?"
    response = client.get(f"{API}{url}{sep}cursor={cursor}", headers=basic("alice"))
    assert response.status_code == 400, url
    assert response.json["error"]["code"] == "CURSOR_INVALID"


def test_a_signed_sql_looking_key_is_just_a_key(client, users, many):
    cursor = _forged(["repositories", "alice/r3' OR '1'='1"])
    body = client.get(f"{API}/repositories", query_string={"cursor": cursor}).json
    assert [r["full_name"] for r in body["items"]] == ["alice/r4", "alice/r5", "alice/r6"]
