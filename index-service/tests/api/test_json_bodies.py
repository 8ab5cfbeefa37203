"""JSON bodies: every operation that reads one parses it with a nesting bound, so a body
nested 50,000 deep is a 400 VALIDATION_FAILED, never a RecursionError (500)."""

from __future__ import annotations

import re

import pytest
from wharf_protocol.jsondepth import MAX_DEPTH

from tests.api.conftest import API, basic

DEEP_ARRAY = "[" * 50_000 + "]" * 50_000
DEEP_OBJECT = '{"a":' * 50_000 + "1" + "}" * 50_000
PATH_VALUES = {
    "name": "alice/app",
    "repository": "alice/app",
    "namespace": "alice",
    "username": "bob",
    "org": "acme",
    "team": "devs",
    "robot": "alice+ci",
}


def _operations_with_bodies(client) -> list[tuple[str, str]]:
    document = client.get(f"{API}/openapi.json").json
    found = [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]
    assert len(found) > 15
    return found


def _refused_as_too_deep(response) -> None:
    assert response.status_code == 400, response.data[:200]
    error = response.json["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert error["detail"] == {"_body": [f"JSON nested deeper than {MAX_DEPTH} levels"]}


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
def test_deep_body_to_sign_in_needs_no_login_and_is_400(client, body):
    response = client.post(f"{API}/session", data=body, content_type="application/json")
    _refused_as_too_deep(response)


def test_deep_comment_is_400(client, users, make_repo):
    make_repo("alice/app", visibility="public")
    response = client.post(
        f"{API}/repositories/alice/app/-/comments",
        data=DEEP_OBJECT,
        content_type="application/json",
        headers=basic("bob"),
    )
    _refused_as_too_deep(response)


def test_every_operation_reading_a_body_refuses_deep_json(client, users, make_repo):
    make_repo("alice/app")
    for method, path in _operations_with_bodies(client):
        values = (
            dict(PATH_VALUES, name="r.test") if path.startswith("/registries/") else PATH_VALUES
        )
        url = API + re.sub(r"\{(\w+)\}", lambda m, values=values: values.get(m[1], "1"), path)
        response = client.open(
            url,
            method=method,
            data=DEEP_ARRAY,
            content_type="application/json",
            headers=basic("carol"),
        )
        assert response.status_code == 400, (method, path, response.status_code)
        _refused_as_too_deep(response)


def test_json_within_the_bound_still_loads(client, users):
    nested = {"username": "alice", "password": "x" * 8, "extra": [[[[1]]]]}
    response = client.post(f"{API}/session", json=nested)
    assert response.status_code == 400  # unknown field: marshmallow, not the depth guard
    assert set(response.json["error"]["detail"]) == {"extra"}
