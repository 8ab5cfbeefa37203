"""The OpenAPI document: valid OpenAPI 3.1 (openapi-spec-validator, a test-only
dependency: it checks the document against the official 3.1 schema, which hand-written
assertions could not), and every /api/v1 route is in it."""

from __future__ import annotations

import json
import re

from openapi_spec_validator import validate

from tests.api.conftest import API


def test_document_is_valid_openapi_31(client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = json.loads(response.data)
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_route_and_method_is_described(client, app):
    paths = client.get(f"{API}/openapi.json").json["paths"]
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]
    assert len(rules) > 40
    for rule in rules:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len(API) :])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = paths[path][method.lower()]
            assert operation["summary"] and operation["responses"], (path, method)


def test_schemas_are_referenced_and_defined(client):
    document = client.get(f"{API}/openapi.json").json
    text = json.dumps(document)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in document["components"]["schemas"]
    repository = document["components"]["schemas"]["RepositoryCreateIn"]
    assert repository["required"] == ["name"]
    assert repository["properties"]["visibility"]["enum"] == ["public", "private", None]
    listing = document["paths"]["/repositories"]["get"]["responses"]["200"]
    assert set(listing["content"]["application/json"]["schema"]["properties"]) == {"items", "next"}
