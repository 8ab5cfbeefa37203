"""The token backend's verification: the remote cache (time, bounds, outages), local mode
and the JWK Set fetched from a URL (cache, rotation, rate limit, outages)."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import responses
from wharf_protocol.client import IndexClient
from wharf_protocol.keys import KeySet, SigningKey
from wharf_protocol.scopes import parse_scope
from wharf_protocol.tokens import Claims, TokenIssuer
from wharf_registry.auth.published import FetchedKeys, KeysUnavailable
from wharf_registry.auth.token import (
    IndexUnreachable,
    InvalidToken,
    RemoteVerification,
    local_verification,
)

URL = "http://index.test/internal/v1/tokens/verify"
NOW = 1_700_000_000.0


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def claims(token: str, exp: float = NOW + 300, audience: str = "reg1") -> Claims:
    return Claims(
        "wharf-index",
        f"user-{token}",
        audience,
        int(NOW),
        int(NOW),
        int(exp),
        f"id-{token}",
        (parse_scope("repository:a/b:pull"),),
    )


class Index:
    """A /tokens/verify endpoint answering from a dict of token -> Claims."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.known: dict[str, Claims] = {}
        self.down = False
        self.calls = 0
        rsps.add_callback(responses.POST, URL, self._verify)

    def _verify(self, request):
        self.calls += 1
        if self.down:
            return requests.ConnectionError("refused")
        token = json.loads(request.body)["token"]
        if token not in self.known:
            return (
                422,
                {},
                json.dumps(
                    {
                        "error": {
                            "code": "TOKEN_INVALID",
                            "message": "no",
                            "detail": {"reason": "revoked"},
                        }
                    }
                ),
            )
        return 200, {}, json.dumps({"claims": self.known[token].to_dict()})


@pytest.fixture
def index():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield Index(rsps)


@pytest.fixture
def clock():
    return Clock()


def remote(clock, ttl=30, leeway=60, capacity=100) -> RemoteVerification:
    client = IndexClient("http://index.test", "reg1", "cred", retries=0)
    return RemoteVerification(client, "reg1", ttl, leeway, capacity=capacity, clock=clock)


def test_a_cached_verification_is_reused_until_the_ttl(index, clock):
    index.known["t"] = claims("t")
    verify = remote(clock, ttl=30)
    assert verify("t").subject == "user-t"
    clock.now += 29
    assert verify("t").subject == "user-t"
    assert index.calls == 1
    clock.now += 1
    verify("t")
    assert index.calls == 2


def test_the_cache_never_outlives_the_token(index, clock):
    index.known["t"] = claims("t", exp=NOW + 10)
    verify = remote(clock, ttl=1000, leeway=5)
    verify("t")
    clock.now += 14
    verify("t")
    assert index.calls == 1
    clock.now += 1  # exp + leeway reached: ask again; the Index now refuses it
    del index.known["t"]
    with pytest.raises(InvalidToken, match="revoked"):
        verify("t")
    assert index.calls == 2


def test_a_revoked_token_is_refused_after_the_ttl_and_forgotten(index, clock):
    index.known["t"] = claims("t")
    verify = remote(clock, ttl=30)
    verify("t")
    del index.known["t"]
    clock.now += 30
    with pytest.raises(InvalidToken, match="token rejected: revoked"):
        verify("t")
    assert len(verify) == 0
    index.down = True  # a rejected token gets no stale-if-error second life
    with pytest.raises(IndexUnreachable):
        verify("t")


def test_index_down_warm_cache_serves_until_expiry_cold_cache_fails(index, clock, caplog):
    index.known["t"] = claims("t", exp=NOW + 300)
    verify = remote(clock, ttl=30, leeway=0)
    verify("t")
    index.down = True
    clock.now += 200  # past the TTL, the Index is down: the earlier verification is used
    with caplog.at_level(logging.WARNING):
        assert verify("t").subject == "user-t"
    assert "using the cached verification" in caplog.text
    clock.now += 100  # expired: no more
    with pytest.raises(IndexUnreachable):
        verify("t")
    with pytest.raises(IndexUnreachable):
        verify("other")
    assert "unreachable" in caplog.text and "'t'" not in caplog.text


def test_claims_for_another_audience_or_already_expired_are_refused(index, clock):
    index.known["aud"] = claims("aud", audience="reg2")
    index.known["old"] = claims("old", exp=NOW - 61)
    verify = remote(clock, leeway=60)
    with pytest.raises(InvalidToken, match="wrong_audience"):
        verify("aud")
    with pytest.raises(InvalidToken, match="expired"):
        verify("old")
    assert len(verify) == 0


def test_the_cache_is_bounded_and_keyed_by_a_hash(index, clock):
    verify = remote(clock, capacity=3)
    for n in range(10):
        index.known[f"t{n}"] = claims(f"t{n}")
        verify(f"t{n}")
    assert len(verify) == 3
    assert all(isinstance(k, bytes) and len(k) == 32 for k in verify._entries)
    verify("t9")
    assert index.calls == 10  # the most recent ones are still cached


def test_the_cache_is_safe_under_threads(index, clock):
    tokens = [f"t{n}" for n in range(40)]
    for token in tokens:
        index.known[token] = claims(token)
    verify = remote(clock, capacity=16)

    def check(i: int) -> bool:
        token = tokens[i % len(tokens)]
        return verify(token).subject == f"user-{token}"

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(check, range(400)))
    assert len(verify) <= 16


def test_local_mode_checks_signature_audience_and_time_with_leeway(clock):
    key = SigningKey.generate()
    verify = local_verification(KeySet([key.public]), "wharf-index", "reg1", leeway=60, clock=clock)
    issuer = TokenIssuer(key, "wharf-index", ttl=300, clock=clock)
    good, _ = issuer.issue("alice", "reg1", [parse_scope("repository:a/b:pull")])
    assert verify(good).subject == "alice"
    other, _ = issuer.issue("alice", "reg2", [])
    with pytest.raises(InvalidToken, match="wrong_audience"):
        verify(other)
    forged, _ = TokenIssuer(SigningKey.generate(), "wharf-index").issue("alice", "reg1", [])
    with pytest.raises(InvalidToken, match="unknown_key"):
        verify(forged)
    clock.now += 300 + 59  # expired 59 s ago: within the leeway
    assert verify(good).subject == "alice"
    clock.now += 1
    with pytest.raises(InvalidToken, match="expired"):
        verify(good)


def test_remote_mode_asks_the_index_only_about_tokens_that_pass_the_local_check(index, clock):
    index.known["good"] = claims("good")
    index.known["forged"] = claims("forged")

    def local(token: str) -> Claims:
        if token != "good":
            raise InvalidToken("token rejected: bad_signature")
        return claims(token)

    verify = RemoteVerification(
        IndexClient("http://index.test", "reg1", "cred", retries=0),
        "reg1",
        30,
        60,
        clock=clock,
        local=local,
    )
    with pytest.raises(InvalidToken, match="bad_signature"):
        verify("forged")
    assert index.calls == 0
    assert verify("good").subject == "user-good"
    assert index.calls == 1


# -- the JWK Set fetched from a URL ---------------------------------------------------------

JWKS = "http://index.test/.well-known/jwks.json"
KEY = SigningKey.generate()
NEXT = SigningKey.generate()


class Publisher:
    """A JWK Set URL serving ``keys`` (or refusing connections while ``down``)."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.keys = [KEY]
        self.down = False
        self.body: bytes | None = None
        self.fetches = 0
        rsps.add_callback(responses.GET, JWKS, self._serve)

    def _serve(self, request):
        self.fetches += 1
        if self.down:
            return requests.ConnectionError("refused")
        body = self.body or json.dumps(KeySet(k.public for k in self.keys).jwks()).encode()
        return 200, {}, body


@pytest.fixture
def publisher():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield Publisher(rsps)


def header(key: SigningKey) -> dict:
    return {"alg": key.algorithm, "kid": key.kid}


def test_fetched_keys_are_fetched_lazily_cached_and_refreshed_on_expiry(publisher, clock):
    keys = FetchedKeys(JWKS, clock=clock)
    assert publisher.fetches == 0  # nothing at start-up: the Index may start later
    assert keys.find(header(KEY)) == KEY.public
    clock.now += 299
    assert keys.find(header(KEY)) == KEY.public
    assert publisher.fetches == 1
    clock.now += 1
    assert keys.find(header(KEY)) == KEY.public
    assert publisher.fetches == 2


def test_an_unknown_kid_refreshes_once_per_interval(publisher, clock):
    keys = FetchedKeys(JWKS, clock=clock)
    keys.find(header(KEY))
    publisher.keys.append(NEXT)
    assert keys.find(header(NEXT)) is None  # fetched 0 s ago: rate-limited
    clock.now += 10
    assert keys.find(header(NEXT)) == NEXT.public  # rotation picked up
    assert publisher.fetches == 2
    for _ in range(1000):  # a flood of unknown kids
        assert keys.find({"alg": "ES256", "kid": secrets.token_hex(8)}) is None
    clock.now += 9.9
    assert keys.find({"alg": "ES256", "kid": "unknown"}) is None
    assert publisher.fetches == 2
    clock.now += 0.1
    assert keys.find({"alg": "ES256", "kid": "unknown"}) is None
    assert publisher.fetches == 3


def test_a_url_down_at_start_gives_keys_unavailable_then_recovers(publisher, clock, caplog):
    publisher.down = True
    keys = FetchedKeys(JWKS, clock=clock)
    with caplog.at_level(logging.ERROR), pytest.raises(KeysUnavailable):
        keys.find(header(KEY))
    assert f"cannot fetch the token keys from {JWKS}" in caplog.text
    assert "refused with 503" in caplog.text
    with pytest.raises(KeysUnavailable):
        keys.find(header(KEY))
    assert publisher.fetches == 1  # no hammering of a server that is down
    publisher.down = False
    clock.now += 10
    assert keys.find(header(KEY)) == KEY.public


def test_known_keys_survive_a_failed_refresh(publisher, clock):
    keys = FetchedKeys(JWKS, clock=clock)
    keys.find(header(KEY))
    publisher.down = True
    clock.now += 300
    assert keys.find(header(KEY)) == KEY.public  # stale keys kept
    clock.now += 10
    with pytest.raises(KeysUnavailable):  # unknown while failing: maybe rotated, cannot tell
        keys.find(header(NEXT))


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"keys": 1}', b"[" * 10, b" " * (2 << 20)],
    ids=["not-json", "keys-not-a-list", "truncated", "too-large"],
)
def test_an_unusable_jwks_answer_is_a_failed_fetch(publisher, clock, body):
    publisher.body = body
    keys = FetchedKeys(JWKS, clock=clock)
    with pytest.raises(KeysUnavailable):
        keys.find(header(KEY))


def test_requests_arriving_during_the_first_fetch_wait_for_it(clock):
    release = threading.Event()
    fetches = []

    def slow(request):
        fetches.append(1)
        release.wait(10)
        return 200, {}, json.dumps(KeySet([KEY.public]).jwks())

    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.GET, JWKS, slow)
        keys = FetchedKeys(JWKS, clock=clock)
        with ThreadPoolExecutor(8) as pool:
            found = [pool.submit(keys.find, header(KEY)) for _ in range(8)]
            while not fetches:
                time.sleep(0.01)
            time.sleep(0.1)  # the other seven are waiting now
            release.set()
            assert all(f.result(timeout=10) == KEY.public for f in found)
    assert len(fetches) == 1


def test_the_default_key_url_is_fetched_with_the_index_tls_settings():
    """The JWK Set on the Index is fetched with REGISTRY_INDEX_TLS_CA and the client
    certificate, as every other call to the Index; a key URL elsewhere with system trust."""
    from wharf_registry.auth import published_keys
    from wharf_registry.settings import Settings

    settings = Settings(
        index_url="https://index.test:5001",
        index_name="reg",
        index_credential="cred",
        index_tls_ca="/etc/wharf/ca.pem",
        index_tls_certificate="c.pem",
        index_tls_key="k.pem",
    )
    fetched = published_keys(settings).fetched
    assert fetched.url == "https://index.test:5001/.well-known/jwks.json"
    assert fetched._tls == {"verify": "/etc/wharf/ca.pem", "cert": ("c.pem", "k.pem")}
    elsewhere = Settings(**{**settings.__dict__, "token_jwks": "https://tokens.example/jwks.json"})
    assert published_keys(elsewhere).fetched._tls == {}
