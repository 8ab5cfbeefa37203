"""The token backend's verification: the verified-token cache of both modes (time, bounds,
outages, refusals), single flight, async confirmation, and the JWK Set fetched from a URL
(cache, rotation, rate limit, outages)."""

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
from wharf_registry.auth.published import FetchedKeys, KeysUnavailable, PublishedKeys
from wharf_registry.auth.token import (
    IndexUnreachable,
    InvalidToken,
    RemoteVerification,
    TokenVerification,
    local_verification,
)
from wharf_registry.auth.tokencache import token_key

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
    """A /tokens/verify endpoint answering from a dict of token -> Claims (``known``; a token
    issued but not known is refused as revoked). ``hold``: answers wait until it is set."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.issued: dict[str, Claims] = {}
        self.known: dict[str, Claims] = {}
        self.down = False
        self.calls = 0
        self.hold: threading.Event | None = None
        rsps.add_callback(responses.POST, URL, self._verify)

    def issue(self, token: str, **kw) -> Claims:
        self.issued[token] = self.known[token] = claims(token, **kw)
        return self.issued[token]

    def _verify(self, request):
        self.calls += 1
        if self.hold is not None:
            assert self.hold.wait(10)
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


class Local:
    """The local check of tokens the Index issued: unknown ones are forged, and ``exp`` +
    leeway is enforced as TokenVerifier does; counts its calls (signature checks)."""

    def __init__(self, index: Index, clock: Clock, leeway: int) -> None:
        self.index, self.clock, self.leeway = index, clock, leeway
        self.calls = 0

    def __call__(self, token: str) -> Claims:
        self.calls += 1
        found = self.index.issued.get(token)
        if found is None:
            raise InvalidToken("token rejected: bad_signature")
        if self.clock() >= found.expires_at + self.leeway:
            raise InvalidToken("token rejected: expired")
        return found


@pytest.fixture
def index():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield Index(rsps)


@pytest.fixture
def clock():
    return Clock()


def remote(index, clock, ttl=30, leeway=60, capacity=100, **kw) -> TokenVerification:
    client = IndexClient("http://index.test", "reg1", "cred", retries=0)
    local = Local(index, clock, leeway)
    return TokenVerification(
        local, client, "reg1", ttl, leeway, capacity=capacity, clock=clock, **kw
    )


def test_a_cached_verification_is_reused_until_the_ttl(index, clock):
    index.issue("t")
    verify = remote(index, clock, ttl=30)
    assert verify("t").subject == "user-t"
    clock.now += 29
    assert verify("t").subject == "user-t"
    assert index.calls == 1
    clock.now += 1
    verify("t")
    assert index.calls == 2
    assert verify._local.calls == 1  # asking the Index again needs no new signature check


def test_the_cache_never_outlives_the_token(index, clock):
    index.issue("t", exp=NOW + 10)
    verify = remote(index, clock, ttl=1000, leeway=5)
    verify("t")
    clock.now += 14
    verify("t")
    assert index.calls == 1
    clock.now += 1  # exp + leeway reached: the entry is gone, the local check refuses it
    with pytest.raises(InvalidToken, match="expired"):
        verify("t")
    assert index.calls == 1 and len(verify) == 0


def test_a_revoked_token_is_refused_after_the_ttl_and_remembered_as_refused(index, clock):
    index.issue("t")
    verify = remote(index, clock, ttl=30)
    verify("t")
    del index.known["t"]
    clock.now += 30
    with pytest.raises(InvalidToken, match="token rejected: revoked"):
        verify("t")
    index.down = True  # a refused token gets no stale-if-error second life
    for _ in range(3):
        with pytest.raises(InvalidToken, match="token rejected: revoked"):
            verify("t")
    assert index.calls == 2  # refused from memory, without asking again


def test_index_down_warm_cache_serves_until_expiry_cold_cache_fails(index, clock, caplog):
    index.issue("t", exp=NOW + 300)
    index.issue("other")
    verify = remote(index, clock, ttl=30, leeway=0)
    verify("t")
    index.down = True
    clock.now += 200  # past the TTL, the Index is down: the earlier verification is used
    with caplog.at_level(logging.WARNING):
        assert verify("t").subject == "user-t"
    assert "using the cached verification" in caplog.text
    with pytest.raises(IndexUnreachable):
        verify("other")
    clock.now += 100  # expired: no more
    with pytest.raises(InvalidToken, match="expired"):
        verify("t")
    assert "unreachable" in caplog.text and "'t'" not in caplog.text


def test_claims_for_another_audience_are_refused(index, clock):
    index.issue("aud", audience="reg2")
    verify = remote(index, clock, leeway=60)
    with pytest.raises(InvalidToken, match="wrong_audience"):
        verify("aud")
    with pytest.raises(InvalidToken, match="wrong_audience"):
        verify("aud")
    assert index.calls == 1


def test_the_cache_is_a_bounded_lru_keyed_by_a_hash(index, clock):
    verify = remote(index, clock, capacity=3)
    for n in range(3):
        index.issue(f"t{n}")
        verify(f"t{n}")
    verify("t0")  # t0 is now the most recently used, t1 the least
    index.issue("t3")
    verify("t3")
    keys = verify.cache.keys()
    assert len(keys) == 3 and all(isinstance(k, bytes) and len(k) == 32 for k in keys)
    assert token_key("t1") not in keys and token_key("t0") in keys
    calls = index.calls
    for token in ("t0", "t2", "t3"):
        verify(token)
    assert index.calls == calls  # still cached
    verify("t1")
    assert index.calls == calls + 1  # evicted: verified again
    assert len(verify) == 3


def test_the_cache_is_safe_under_threads(index, clock):
    tokens = [f"t{n}" for n in range(40)]
    for token in tokens:
        index.issue(token)
    verify = remote(index, clock, capacity=16)

    def check(i: int) -> bool:
        token = tokens[i % len(tokens)]
        return verify(token).subject == f"user-{token}"

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(check, range(400)))
    assert len(verify) <= 16


def test_remote_mode_asks_the_index_only_about_tokens_that_pass_the_local_check(index, clock):
    index.issue("good")
    index.known["forged"] = claims("forged")  # the Index would say yes; the keys say no

    verify = RemoteVerification(
        IndexClient("http://index.test", "reg1", "cred", retries=0),
        "reg1",
        30,
        60,
        clock=clock,
        local=Local(index, clock, 60),
    )
    with pytest.raises(InvalidToken, match="bad_signature"):
        verify("forged")
    assert index.calls == 0
    assert verify("good").subject == "user-good"
    assert index.calls == 1


# -- local mode: the signature checked once per token --------------------------------------


class Counted:
    """A key finder counting lookups: one per signature check."""

    def __init__(self, keys: KeySet) -> None:
        self.keys, self.calls = keys, 0

    def __call__(self, header):
        self.calls += 1
        return self.keys.find(header)


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


def test_local_mode_cache_hits_cost_no_signature_check_and_end_at_expiry(clock):
    key = SigningKey.generate()
    keys = Counted(KeySet([key.public]))
    check = local_verification(keys, "wharf-index", "reg1", leeway=60, clock=clock)
    verify = TokenVerification(check, None, "reg1", leeway=60, clock=clock)
    token, _ = TokenIssuer(key, "wharf-index", ttl=300, clock=clock).issue("alice", "reg1", [])
    for _ in range(100):
        assert verify(token).subject == "alice"
    assert keys.calls == 1
    clock.now += 300 + 59
    assert verify(token).subject == "alice"  # within the leeway, still from the cache
    assert keys.calls == 1
    clock.now += 1  # exp + leeway: the cached entry is not used, the verifier refuses
    with pytest.raises(InvalidToken, match="expired"):
        verify(token)
    assert keys.calls == 2 and len(verify) == 0
    forged, _ = TokenIssuer(SigningKey.generate(), "wharf-index").issue("alice", "reg1", [])
    for _ in range(2):  # a refused token is not cached: checked (and refused) each time
        with pytest.raises(InvalidToken, match="unknown_key"):
            verify(forged)
    assert len(verify) == 0


# -- single flight ------------------------------------------------------------------------


def count_joins(verify: TokenVerification) -> list[int]:
    """Count the requests that reached the token's flight (leader and followers)."""
    joins: list[int] = []
    join = verify.flights.join

    def counted(key):
        joins.append(1)
        return join(key)

    verify.flights.join = counted
    return joins


def poll(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def test_twenty_requests_with_one_new_token_make_one_index_call(index, clock):
    index.issue("new")
    index.hold = threading.Event()
    verify = remote(index, clock)
    joins = count_joins(verify)
    with ThreadPoolExecutor(20) as pool:
        results = [pool.submit(verify, "new") for _ in range(20)]
        poll(lambda: len(joins) == 20)  # all twenty are on the flight, the Index holds
        index.hold.set()
        assert all(r.result(10).subject == "user-new" for r in results)
    assert index.calls == 1
    assert verify._local.calls == 1
    assert len(verify.flights) == 0


def test_a_refusal_reaches_every_waiting_request(index, clock):
    index.issue("revoked")
    del index.known["revoked"]
    index.hold = threading.Event()
    verify = remote(index, clock)
    joins = count_joins(verify)
    with ThreadPoolExecutor(5) as pool:
        results = [pool.submit(verify, "revoked") for _ in range(5)]
        poll(lambda: len(joins) == 5)
        index.hold.set()
        for r in results:
            with pytest.raises(InvalidToken, match="revoked"):
                r.result(10)
    assert index.calls == 1


def test_a_request_waiting_for_another_verification_gives_up_with_503(index, clock, caplog):
    index.issue("slow")
    index.hold = threading.Event()
    verify = remote(index, clock, wait=0.2)
    with ThreadPoolExecutor(1) as pool:
        leader = pool.submit(verify, "slow")
        poll(lambda: index.calls == 1)
        with caplog.at_level(logging.ERROR), pytest.raises(IndexUnreachable):
            verify("slow")  # waits 0.2 s for the leader's call, then 503, no call of its own
        assert "did not end within 0.2 s" in caplog.text
        index.hold.set()
        assert leader.result(10).subject == "user-slow"
    assert index.calls == 1


def test_local_mode_single_flight_one_signature_check(clock):
    key = SigningKey.generate()
    keys = Counted(KeySet([key.public]))
    release = threading.Event()
    check = local_verification(keys, "wharf-index", "reg1", leeway=60, clock=clock)

    def slow_check(token: str) -> Claims:
        assert release.wait(10)
        return check(token)

    verify = TokenVerification(slow_check, None, "reg1", clock=clock)
    joins = count_joins(verify)
    token, _ = TokenIssuer(key, "wharf-index", clock=clock).issue("alice", "reg1", [])
    with ThreadPoolExecutor(20) as pool:
        results = [pool.submit(verify, token) for _ in range(20)]
        poll(lambda: len(joins) == 20)
        release.set()
        assert all(r.result(10).subject == "alice" for r in results)
    assert keys.calls == 1


# -- async confirmation -------------------------------------------------------------------


def test_async_reads_go_ahead_before_the_index_answers(index, clock):
    index.issue("t")
    index.hold = threading.Event()
    verify = remote(index, clock, confirm="async")
    checked = verify.check("t")  # returns while the Index call is held
    assert checked.claims.subject == "user-t" and checked.pending is not None
    poll(lambda: index.calls == 1)
    assert verify.check("t").pending is not None  # still pending, no second call
    index.hold.set()
    assert checked.pending.wait().subject == "user-t"
    assert verify.check("t").pending is None  # confirmed: a plain cache hit
    assert index.calls == 1


def test_async_a_token_the_index_refuses_is_refused_from_then_on(index, clock):
    index.issue("t")
    del index.known["t"]
    index.hold = threading.Event()
    verify = remote(index, clock, confirm="async")
    checked = verify.check("t")
    assert checked.pending is not None  # a read goes ahead: the trade-off
    index.hold.set()
    with pytest.raises(InvalidToken, match="revoked"):
        checked.pending.wait()
    with pytest.raises(InvalidToken, match="revoked"):
        verify.check("t")
    assert index.calls == 1


def test_async_index_down_ends_the_grace_until_the_index_answers(index, clock, caplog):
    index.issue("t")
    index.down = True
    verify = remote(index, clock, confirm="async")
    checked = verify.check("t")
    assert checked.pending is not None  # the first read went ahead
    with pytest.raises(IndexUnreachable):
        checked.pending.wait()  # a write would have got the 503
    with pytest.raises(IndexUnreachable):
        verify.check("t")  # from now on reads wait for a confirmation too: 503 while down
    assert index.calls == 2 and verify._local.calls == 1
    index.down = False
    assert verify.check("t").pending is None  # confirmed synchronously, then cached
    assert verify.check("t").claims.subject == "user-t"
    assert index.calls == 3


def test_async_a_confirmed_token_is_reconfirmed_in_the_background(index, clock):
    index.issue("t")
    verify = remote(index, clock, ttl=30, confirm="async")
    verify("t")
    clock.now += 30
    index.hold = threading.Event()
    checked = verify.check("t")  # TTL passed: the read goes ahead, the Index is asked again
    assert checked.pending is not None
    index.hold.set()
    assert checked.pending.wait().subject == "user-t"
    assert index.calls == 2


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


def test_a_key_reload_never_extends_a_cached_verification(publisher, clock):
    fetched = FetchedKeys(JWKS, clock=clock)
    check = local_verification(
        PublishedKeys(KeySet(), fetched), "wharf-index", "reg1", leeway=5, clock=clock
    )
    verify = TokenVerification(check, None, "reg1", leeway=5, clock=clock)
    old, _ = TokenIssuer(KEY, "wharf-index", ttl=60, clock=clock).issue("alice", "reg1", [])
    assert verify(old).subject == "alice"
    publisher.keys = [NEXT]  # rotation: KEY withdrawn, NEXT signs
    clock.now += 30
    new, _ = TokenIssuer(NEXT, "wharf-index", ttl=60, clock=clock).issue("bob", "reg1", [])
    assert verify(new).subject == "bob"  # an unknown kid: the key set is fetched again
    assert publisher.fetches == 2
    assert verify(old).subject == "alice"  # cached, within the token's own lifetime
    (entry,) = [verify.cache.get(token_key(old), clock.now)]
    assert entry.valid_until == NOW + 60 + 5  # the token's exp + leeway, not the reload's time
    clock.now += 35  # the old token's exp + leeway: its entry is unusable, its key is gone
    with pytest.raises(InvalidToken, match="unknown_key"):
        verify(old)  # (its unknown kid cost one more fetch, > 10 s after the last)
    assert verify(new).subject == "bob"
    assert publisher.fetches == 3


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
