"""Deeply nested JSON from registries and Docker clients: a clear refusal, never a
RecursionError (500) -- /internal/v1/events, /internal/v1/tokens/verify, POST /v2/token,
and the registry answers ``registry sync`` reads."""

from __future__ import annotations

import pytest
import responses
from wharf_index.adapters.registry_http import RegistryHTTP
from wharf_index.domain import errors
from wharf_index.domain.model import Registry
from wharf_protocol.events import EVENTS_MEDIA_TYPE

from tests.service.conftest import REGISTRY, REGISTRY_URL, basic

DEEP = "[" * 50_000 + "]" * 50_000
DEEP_ENVELOPE = '{"events": [{"target": ' + '{"a":' * 50_000 + "1" + "}" * 50_001 + "]}"


@pytest.mark.parametrize(
    "body, content_type", [(DEEP, "application/json"), (DEEP_ENVELOPE, EVENTS_MEDIA_TYPE)]
)
def test_deep_events_envelope_is_events_invalid(client, registry_auth, body, content_type):
    response = client.post(
        "/internal/v1/events", data=body, content_type=content_type, headers=registry_auth
    )
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "EVENTS_INVALID"
    assert "nested deeper than" in str(error["detail"])


def test_deep_verify_body_is_a_malformed_token(client, registry_auth):
    response = client.post(
        "/internal/v1/tokens/verify",
        data=DEEP,
        content_type="application/json",
        headers=registry_auth,
    )
    assert response.status_code == 422
    assert response.json["error"]["code"] == "TOKEN_INVALID"
    assert response.json["error"]["detail"] == {"reason": "malformed"}


def test_deep_json_to_the_token_form_is_a_bad_request(client, users, registry):
    form = {
        "grant_type": "password",
        "service": REGISTRY,
        "client_id": "c",
        "username": "alice",
        "password": "x",
    }
    as_json = client.post(
        "/v2/token", data=DEEP, content_type="application/json", headers=basic("alice")
    )
    assert as_json.status_code == 400 and as_json.json["error"]["code"] == "INVALID"
    as_form = client.post("/v2/token", data={**form, "scope": DEEP})
    assert as_form.status_code == 400 and as_form.json["error"]["code"] == "SCOPE_INVALID"


@pytest.mark.parametrize("path", ["/v2/_catalog", "/v2/alice/app/manifests/latest"])
def test_deep_registry_answers_are_refused_by_the_client(path):
    registry = Registry(id=1, name=REGISTRY, url=REGISTRY_URL, kind="private")
    http = RegistryHTTP(retries=0)
    with responses.RequestsMock() as mock:
        mock.get(
            REGISTRY_URL + path, body=DEEP, status=200, headers={"Content-Type": "application/json"}
        )
        with pytest.raises(errors.RegistryRefused):
            if path == "/v2/_catalog":
                list(http.catalog(registry, "token"))
            else:
                http.manifest(registry, "alice/app", "latest", "token")
