"""No password, token or registry credential in any log line or error body."""

from __future__ import annotations

import logging

from wharf_index.services import access_tokens
from wharf_protocol.client import TokenRejected
from wharf_protocol.events import Target, new_event

from tests.conftest import PASSWORD
from tests.service.conftest import REGISTRY, basic

WRONG = "a wrong password that must not leak"


def test_secrets_never_logged(client, caplog, uow, principal, registry, index_client, make_repo):
    caplog.set_level(logging.DEBUG)
    make_repo("alice/app", "public")
    _, pat = access_tokens.create_access_token(
        uow, principal("alice"), "ci", [{"repository": "*", "actions": ["pull", "push"]}]
    )
    bodies = []

    def call(method, path, **kw):
        response = client.open(path, method=method, **kw)
        bodies.append(response.get_data(as_text=True))
        return response

    scope = {
        "service": REGISTRY,
        "scope": "repository:alice/app:pull,push",
        "offline_token": "true",
    }
    granted = call("GET", "/v2/token", query_string=scope, headers=basic("alice")).get_json()
    call("GET", "/v2/token", query_string=scope, headers=basic("alice", pat))
    call("GET", "/v2/token", query_string=scope, headers=basic("alice", WRONG))
    call("GET", "/v2/token", query_string={**scope, "service": "nope"}, headers=basic("alice"))
    call(
        "POST",
        "/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "docker",
            "service": REGISTRY,
            "refresh_token": granted["refresh_token"],
        },
    )
    call("PUT", "/v1/repositories/alice/new/", headers=basic("alice"))
    call("GET", "/v1/search", query_string={"q": "app"}, headers=basic("alice", WRONG))
    call(
        "POST",
        "/internal/v1/tokens/verify",
        json={"token": granted["token"]},
        headers=basic(REGISTRY, registry[1] + "x"),
    )
    call(
        "POST",
        "/internal/v1/events",
        data="{}",
        headers=basic(REGISTRY, registry[1]),
        content_type="application/json",
    )
    index_client.verify_token(granted["token"])
    ghost = Target(
        "application/vnd.oci.image.manifest.v1+json", "sha256:" + "a" * 64, 1, "ghost/app", tag="v1"
    )
    index_client.post_events([new_event("push", ghost)])  # logs "ignored"
    try:
        index_client.verify_token(granted["token"][:-3])
    except TokenRejected as exc:
        bodies.append(str(exc))
    secrets = [PASSWORD, WRONG, pat, registry[1], granted["token"], granted["refresh_token"]]
    assert "ignored" in caplog.text  # sanity: capture works
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    for secret in secrets:
        assert secret not in logged
        assert all(secret not in body for body in bodies[1:])
