"""REGISTRY_AUTH=token with REGISTRY_AUTH_TOKEN_VERIFY=local: signature checked here, no call."""

from __future__ import annotations

import time

import pytest
import responses
from fake_index import KEYS, NAME, REALM, bearer, scopes
from wharf_protocol.tokens import TokenIssuer
from wharf_registry.app import create_app
from wharf_registry.settings import ConfigError, Settings


@pytest.fixture
def settings():
    return Settings(
        storage_driver="filesystem",
        auth="token",
        token_verify="local",
        token_keys=KEYS,
        index_name=NAME,
        token_realm=REALM,
        token_leeway=60,
    )


@pytest.fixture
def no_network():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def mint(audience=NAME, issued_ago=0, ttl=300, keys=KEYS, issuer="wharf-index"):
    minted = TokenIssuer(list(keys), issuer, clock=lambda: time.time() - issued_ago)
    token, _ = minted.issue("alice", audience, scopes("repository:team/app:pull"), ttl)
    return bearer(token)


@pytest.mark.parametrize(
    ("token", "status", "message"),
    [
        ({}, 200, None),
        ({"issued_ago": 300 + 30}, 200, None),  # expired 30 s ago: within the 60 s leeway
        ({"issued_ago": 300 + 120}, 401, "token rejected: expired"),
        ({"audience": "another-registry"}, 401, "token rejected: wrong_audience"),
        ({"keys": ["unknown-key"]}, 401, "token rejected: bad_signature"),
        ({"issuer": "someone-else"}, 401, "token rejected: wrong_issuer"),
        (None, 401, "authentication required: a bearer token is needed"),
    ],
)
def test_local_verification(client, no_network, token, status, message):
    # minted here, not at collection: the clock must not move between minting and the check
    headers = {} if token is None else mint(**token)
    r = client.get("/v2/team/app/tags/list", headers=headers)
    expected = 404 if status == 200 else 401  # the repository does not exist
    assert r.status_code == expected
    if message:
        assert r.get_json()["errors"][0]["message"] == message
        assert r.headers["WWW-Authenticate"].startswith(f'Bearer realm="{REALM}",service="{NAME}"')
    else:
        assert r.get_json()["errors"][0]["code"] == "NAME_UNKNOWN"
    assert len(no_network.calls) == 0


def test_local_mode_needs_keys_and_a_realm():
    with pytest.raises(ConfigError) as info:
        create_app(
            Settings(storage_driver="inmemory", auth="token", token_verify="local", index_name=NAME)
        )
    assert "REGISTRY_AUTH_TOKEN_KEYS" in str(info.value)
    assert "REGISTRY_AUTH_TOKEN_REALM" in str(info.value)
