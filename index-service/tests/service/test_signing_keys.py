"""The Index's token signing keys: bootstrapping, rotation with tokens in flight, the
published keys (/.well-known/), a changed INDEX_SECRET_KEY, and RS256."""

from __future__ import annotations

import dataclasses
import logging
import threading

import jwt
import pytest
from wharf_index.adapters.db import Database
from wharf_index.adapters.unit_of_work import PgUnitOfWork
from wharf_index.app import create_app
from wharf_index.context import EXTENSION
from wharf_index.domain.errors import SigningKeysUnreadable
from wharf_index.services import housekeeping, signing_keys
from wharf_protocol.client import TokenRejected
from wharf_protocol.keys import KeySet
from wharf_protocol.tokens import TokenVerifier

from tests.service.conftest import REGISTRY, basic

PUBLISHED_FOR = 360  # seconds, as settings of ttl 300 and leeway 60 give


def _ring(app) -> signing_keys.KeyRing:
    return app.extensions[EXTENSION].authority.keys


def _token(get_token) -> str:
    response = get_token("repository:alice/app:pull", user="alice")
    assert response.status_code == 200
    return response.get_json()["token"]


def _kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def _published(client) -> tuple[KeySet, KeySet]:
    jwks = client.get("/.well-known/jwks.json")
    pem = client.get("/.well-known/token-certs.pem")
    assert jwks.status_code == pem.status_code == 200
    return KeySet.from_jwks(jwks.get_json()), KeySet.from_pem_bundle(pem.get_data())


def test_concurrent_starters_make_one_active_key(db_url, sql):
    starters = 8
    db = Database(db_url, minconn=0, maxconn=starters, connect_timeout=5, pool_timeout=10)
    barrier = threading.Barrier(starters)
    kids: list[str] = []

    def start():
        ring = signing_keys.KeyRing(lambda: PgUnitOfWork(db), b"password", "ES256")
        barrier.wait()
        kids.append(ring.signing_key().kid)

    threads = [threading.Thread(target=start) for _ in range(starters)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        db.close()
    assert len(kids) == starters and len(set(kids)) == 1
    assert sql("SELECT kid, retired_at FROM signing_keys") == [(kids[0], None)]


def test_the_stored_private_key_is_encrypted(app, index_key, sql):
    [(private_pem,)] = sql("SELECT private_pem FROM signing_keys")
    assert private_pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")


def test_published_keys_verify_the_index_tokens(client, users, registry, get_token, settings):
    token = _token(get_token)
    for response in (
        client.get("/.well-known/jwks.json"),
        client.get("/.well-known/token-certs.pem"),
    ):
        assert response.headers["Cache-Control"] == "public, max-age=60"
    assert client.get("/.well-known/token-certs.pem").mimetype == "application/x-pem-file"
    for keys in _published(client):
        claims = TokenVerifier(keys, issuer=settings.token_issuer, audience=REGISTRY).verify(token)
        assert claims.subject == "alice"
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["x5c"] and header["typ"] == "JWT"


def test_rotation_with_tokens_in_flight(
    app, client, uow, users, registry, get_token, index_client, sql
):
    ring = _ring(app)
    old_token = _token(get_token)
    retired, new_key = signing_keys.rotate(
        uow, signing_keys.key_password(app.extensions[EXTENSION].settings.secret_key), "ES256", 360
    )
    assert retired == _kid(old_token) != new_key.kid
    ring.forget()  # as REFRESH_AFTER seconds passing does (see the KeyRing test below)
    new_token = _token(get_token)
    assert _kid(new_token) == new_key.kid
    # both verify: at the Index's verification endpoint and with the published keys
    for token in (old_token, new_token):
        assert index_client.verify_token(token).subject == "alice"
    jwks, pem = _published(client)
    assert (
        {key.kid for key in jwks.keys}
        == {key.kid for key in pem.keys}
        == {
            retired,
            new_key.kid,
        }
    )
    # the old key's last token has expired: pruning unpublishes it
    sql("UPDATE signing_keys SET published_until = now() WHERE retired_at IS NOT NULL")
    report = housekeeping.prune(uow, token_grace=60, event_retention=3600, batch=10)
    assert report.signing_keys == 1
    ring.forget()
    jwks, pem = _published(client)
    assert [key.kid for key in jwks.keys] == [key.kid for key in pem.keys] == [new_key.kid]
    with pytest.raises(TokenRejected) as refused:
        index_client.verify_token(old_token)
    assert refused.value.reason == "unknown_key"
    assert index_client.verify_token(new_token).subject == "alice"


def test_workers_follow_a_rotation_without_restart(database, sql):
    now = [0.0]
    rings = [
        signing_keys.KeyRing(lambda: PgUnitOfWork(database), b"pw", "ES256", clock=lambda: now[0])
        for _ in range(2)
    ]
    first = rings[0].signing_key()
    assert rings[1].signing_key().kid == first.kid
    assert len(rings[1].published()) == 1
    _, new_key = signing_keys.rotate(PgUnitOfWork(database), b"pw", "ES256", PUBLISHED_FOR)
    # a token naming the new key reloads a worker's published set at once (after the
    # miss interval), though its cache is fresh
    now[0] += signing_keys.MISS_RELOAD_AFTER
    assert rings[1].find({"kid": new_key.kid}).kid == new_key.kid
    assert rings[0].signing_key().kid == first.kid  # cached...
    now[0] += signing_keys.REFRESH_AFTER
    assert rings[0].signing_key().kid == new_key.kid  # ...for REFRESH_AFTER seconds
    assert rings[1].find({"kid": first.kid}).kid == first.kid  # still published
    assert rings[1].find({"kid": "no-such-key"}) is None


def test_a_changed_secret_key_is_a_clear_error(settings, database, index_key):
    other = dataclasses.replace(settings, secret_key="another-secret-key-0123456789")
    ring = signing_keys.KeyRing.from_settings(other, lambda: PgUnitOfWork(database))
    with pytest.raises(SigningKeysUnreadable) as caught:
        ring.signing_key()
    assert str(caught.value).startswith("INDEX_SECRET_KEY: ")
    # published keys need no decryption
    assert [key.kid for key in ring.published().keys] == [index_key.kid]


def test_a_changed_secret_key_answers_503_at_the_token_endpoint(
    settings, database, users, registry, index_key, caplog
):
    other = dataclasses.replace(settings, secret_key="another-secret-key-0123456789")
    client = create_app(other, pool=database).test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get(
            "/v2/token",
            query_string={"service": REGISTRY, "scope": "repository:alice/app:pull"},
            headers=basic("alice"),
        )
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "UNAVAILABLE"
    assert "INDEX_SECRET_KEY" in caplog.text and "Traceback" not in caplog.text


def test_rs256_keys(settings, database, users, registry):
    rsa = dataclasses.replace(settings, token_algorithm="RS256")
    client = create_app(rsa, pool=database).test_client()
    response = client.get(
        "/v2/token",
        query_string={"service": REGISTRY, "scope": "repository:alice/app:pull"},
        headers=basic("alice"),
    )
    token = response.get_json()["token"]
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    jwks, _ = _published(client)
    assert [key.algorithm for key in jwks.keys] == ["RS256"]
    assert TokenVerifier(jwks, audience=REGISTRY).verify(token).subject == "alice"
