"""What the API accepts is exactly what its OpenAPI document says: strict JSON types,
strict query booleans, the validators' own patterns, 409 for refusals that depend on the
state, every status documented with the error body."""

from __future__ import annotations

import re

import pytest
from wharf_index.api.rest.rules import json_regex
from wharf_index.domain.names import NAMESPACE_RE, RESERVED
from wharf_index.services.accounts import EMAIL_RE
from wharf_index.services.registries import REGISTRY_URL_RE

from tests.api.conftest import API, basic
from tests.conftest import PASSWORD


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    return response.json["error"]


@pytest.mark.parametrize("value", [1, 0, "yes", "true", "on", None])
def test_body_booleans_are_json_booleans_only(client, users, value):
    response = client.patch(f"{API}/users/bob", json={"disabled": value}, headers=basic("carol"))
    assert "disabled" in _error(response, 400, "VALIDATION_FAILED")["detail"]
    assert client.get(f"{API}/users/bob", headers=basic("carol")).json["disabled"] is False


@pytest.mark.parametrize("value", ["1", "0", "yes", "True", "TRUE", ""])
def test_query_booleans_are_true_or_false_only(client, users, value):
    response = client.get(f"{API}/users", query_string={"robots": value}, headers=basic("carol"))
    assert "robots" in _error(response, 400, "VALIDATION_FAILED")["detail"]
    for good in ("true", "false"):
        ok = client.get(f"{API}/users", query_string={"robots": good}, headers=basic("carol"))
        assert ok.status_code == 200


def test_integers_are_json_integers(client, users):
    scopes = [{"repository": "alice/*", "actions": ["pull"]}]
    for bad in ("30", True, 1.5):
        body = {"name": "t", "scopes": scopes, "expires_in_days": bad}
        response = client.post(f"{API}/tokens", headers=basic("alice"), json=body)
        assert "expires_in_days" in _error(response, 400, "VALIDATION_FAILED")["detail"]
    whole = client.post(
        f"{API}/tokens",
        headers=basic("alice"),
        json={"name": "t", "scopes": scopes, "expires_in_days": 30.0},
    )
    assert whole.status_code == 201  # JSON Schema's integer: no fractional part


@pytest.mark.parametrize("limit", ["²", "١", "½", "0", "-1", "1e3", "1000000000"])
def test_page_sizes_are_ascii_integers(client, users, limit):
    response = client.get(f"{API}/orgs", query_string={"limit": limit})
    assert "limit" in _error(response, 400, "VALIDATION_FAILED")["detail"]


@pytest.mark.parametrize("cursor", ["", "a b", "a%b", "x" * 3000])
def test_cursors_outside_their_alphabet_are_invalid(client, users, cursor):
    _error(client.get(f"{API}/orgs", query_string={"cursor": cursor}), 400, "CURSOR_INVALID")


def test_search_needs_a_query_that_is_not_blank(client, users):
    for query in ({}, {"q": ""}, {"q": " \t\u3000"}):
        response = client.get(f"{API}/search", query_string=query)
        assert "q" in _error(response, 400, "VALIDATION_FAILED")["detail"]


def test_names_emails_and_urls_follow_the_documented_patterns(client, users):
    def create(**fields):
        body = {"username": "dave", "email": "dave@example.test", "password": PASSWORD} | fields
        return client.post(f"{API}/users", json=body, headers=basic("carol"))

    for email in ("dave@example.test\n", " dave@example.test", "da\x01ve@example.test"):
        assert "email" in _error(create(email=email), 400, "VALIDATION_FAILED")["detail"]
    assert "username" in _error(create(username="api"), 400, "VALIDATION_FAILED")["detail"]
    registry = {"name": "r.test", "kind": "mirror"}
    for url in ("http://" + "a" * 64 + ".test", "http://a..b", "http://[zz]", "ftp://r.test"):
        response = client.post(
            f"{API}/registries", json=registry | {"url": url}, headers=basic("carol")
        )
        assert "url" in _error(response, 400, "VALIDATION_FAILED")["detail"]


def test_refusals_that_depend_on_the_state_are_conflicts(client, users):
    body = {"username": "dave", "email": "alice@example.test", "password": PASSWORD}
    taken = client.post(f"{API}/users", json=body, headers=basic("carol"))
    assert _error(taken, 409, "CONFLICT")["detail"] == {"field": "email"}
    assert (
        client.post(f"{API}/orgs", json={"name": "acme"}, headers=basic("alice")).status_code == 201
    )
    sole_owner = client.delete(f"{API}/users/alice", headers=basic("carol"))
    assert _error(sole_owner, 409, "CONFLICT")["detail"] == {"field": "user"}


def test_the_document_states_the_rules_the_server_uses(client):
    document = client.get(f"{API}/openapi.json").json
    schemas = document["components"]["schemas"]
    username = schemas["UserCreateIn"]["properties"]["username"]
    assert username["pattern"] == json_regex(NAMESPACE_RE) and username["maxLength"] == 64
    assert set(username["not"]["enum"]) == RESERVED
    assert schemas["UserCreateIn"]["properties"]["email"]["pattern"] == json_regex(EMAIL_RE)
    assert schemas["UserCreateIn"]["properties"]["password"]["minLength"] == 8
    url = schemas["RegistryCreateIn"]["properties"]["url"]["pattern"]
    assert url == json_regex(REGISTRY_URL_RE)
    assert schemas["UserUpdateIn"]["properties"]["admin"] == {"type": "boolean"}
    assert schemas["RepositoryUpdateIn"]["minProperties"] == 1
    search = {p["name"]: p for p in document["paths"]["/search"]["get"]["parameters"]}
    assert search["q"]["required"] is True and search["q"]["schema"]["maxLength"] == 200
    assert search["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 999999999}
    assert search["cursor"]["schema"]["pattern"] == "^(?:[A-Za-z0-9_.-]+)$"
    users = {p["name"]: p for p in document["paths"]["/users"]["get"]["parameters"]}
    assert users["robots"]["schema"] == {"type": "boolean"}
    comment = document["paths"]["/repositories/{name}/-/comments/{comment_id}"]["delete"]
    ids = {p["name"]: p["schema"] for p in comment["parameters"]}
    assert ids["comment_id"] == {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}
    assert re.fullmatch(ids["name"]["pattern"], "alice/app") and not re.fullmatch(
        ids["name"]["pattern"], "alice"
    )


def test_every_operation_documents_its_errors_with_the_error_body(client):
    document = client.get(f"{API}/openapi.json").json
    responses = document["components"]["responses"]
    assert responses["TooManyRequests"]["headers"]["Retry-After"]["required"] is True
    assert responses["Unavailable"]["headers"]["Retry-After"]["required"] is True
    assert responses["Unauthorized"]["headers"]["WWW-Authenticate"]["required"] is True
    for path, item in document["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert "default" not in statuses and {"400", "414"} <= statuses, (method, path)
            if "security" in operation:
                assert {"401", "429"} <= statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
            for status, answer in operation["responses"].items():
                if status >= "400":
                    name = answer["$ref"].rsplit("/", 1)[1]
                    content = responses[name]["content"]["application/json"]["schema"]
                    assert content == {"$ref": "#/components/schemas/Error"}
    profile = document["paths"]["/users/{username}"]["get"]["responses"]["200"]
    assert len(profile["content"]["application/json"]["schema"]["anyOf"]) == 2
