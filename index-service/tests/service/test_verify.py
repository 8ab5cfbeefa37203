"""/internal/v1/tokens/verify, through wharf_protocol's IndexClient (the registry's side)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from wharf_index.domain.model import SYSTEM
from wharf_index.services import accounts, registries
from wharf_protocol.client import RegistryCredentialRejected, TokenRejected
from wharf_protocol.errcode import parse_api_error
from wharf_protocol.keys import SigningKey
from wharf_protocol.scopes import Scope
from wharf_protocol.tokens import TokenIssuer

from tests.service.conftest import REGISTRY, basic

PULL = (Scope("repository", "alice/app", frozenset({"pull"})),)


@pytest.fixture
def mint(settings, uow, index_key):
    """mint(offset=0, audience=REGISTRY, record=True, key=None) -> token issued ``offset``
    seconds from now (ttl 300) with ``key`` (default: the Index's signing key), recorded in
    issued_tokens unless ``record`` is False."""

    def make(
        offset: int = 0,
        *,
        audience: str = REGISTRY,
        record: bool = True,
        key: SigningKey | None = None,
        user_id: int | None = None,
    ):
        issuer = TokenIssuer(
            key or index_key,
            settings.token_issuer,
            clock=lambda: time.time() + offset,
        )
        token, claims = issuer.issue("alice", audience, PULL)
        if record:
            with uow:
                uow.issued_tokens.record(
                    claims.token_id,
                    subject="alice",
                    audience=audience,
                    user_id=user_id,
                    expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
                )
        return token, claims

    return make


def test_genuine_token(index_client, get_token, make_repo, users):
    make_repo("alice/app", "public")
    token = get_token("repository:alice/app:pull").get_json()["token"]
    claims = index_client.verify_token(token)
    assert claims.audience == REGISTRY and claims.allows("repository", "alice/app", "pull")


def _reason(index_client, token) -> str:
    with pytest.raises(TokenRejected) as refused:
        index_client.verify_token(token)
    return refused.value.reason


def test_expiry_with_leeway(index_client, mint):
    assert index_client.verify_token(mint(-330)[0]).token_id  # expired 30 s ago: leeway 60
    assert _reason(index_client, mint(-400)[0]) == "expired"


def test_not_yet_valid(index_client, mint):
    assert index_client.verify_token(mint(30)[0]).token_id
    assert _reason(index_client, mint(120)[0]) == "not_yet_valid"


def test_wrong_audience(index_client, mint, uow):
    registries.add_registry(uow, "other.test", "http://other.test", "sponsor", actor=SYSTEM)
    assert _reason(index_client, mint(audience="other.test")[0]) == "wrong_audience"


def test_revoked_and_unknown(index_client, mint, users, uow):
    token, claims = mint(user_id=users["alice"].id)
    assert index_client.verify_token(token).token_id == claims.token_id
    accounts.set_password(uow, "alice", "a brand new password")  # revokes issued tokens
    assert _reason(index_client, token) == "revoked"
    assert _reason(index_client, mint(record=False)[0]) == "unknown"


def test_tampered_and_foreign_key(index_client, mint):
    token, _ = mint()
    payload, _, signature = token.rpartition(".")
    # flip the first character: the last one of a base64url signature may carry padding
    # bits, so changing it may decode to the very same signature
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert _reason(index_client, f"{payload}.{flipped}") == "bad_signature"
    assert _reason(index_client, mint(key=SigningKey.generate())[0]) == "unknown_key"
    assert _reason(index_client, "not a token") == "malformed"


def test_wire_shape_of_refusal(client, registry_auth, mint):
    response = client.post(
        "/internal/v1/tokens/verify", json={"token": mint(-400)[0]}, headers=registry_auth
    )
    assert response.status_code == 422
    error = parse_api_error(response.get_data(), 422)
    assert error.code == "TOKEN_INVALID" and error.detail == {"reason": "expired"}
    missing = client.post("/internal/v1/tokens/verify", json={}, headers=registry_auth)
    assert (
        missing.status_code == 422
        and missing.get_json()["error"]["detail"]["reason"] == "malformed"
    )


def test_registry_credentials(client, registry, mint):
    token, _ = mint()
    for headers in (basic(REGISTRY, "wrong-credential"), basic("unknown.test", registry[1]), {}):
        response = client.post("/internal/v1/tokens/verify", json={"token": token}, headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_client_sees_credential_rejection(index_client, uow, mint):
    registries.rotate_credential(uow, REGISTRY, actor=SYSTEM)
    with pytest.raises(RegistryCredentialRejected):
        index_client.verify_token(mint()[0])
