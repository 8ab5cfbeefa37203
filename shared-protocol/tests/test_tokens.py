"""Registry tokens: issue, verify, rotate keys, refuse bad tokens (Docker token specification)."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer
from protocol_strategies import actions, scope_names, scope_types
from wharf_protocol.scopes import Scope, parse_scopes
from wharf_protocol.tokens import (
    SALT,
    Claims,
    TokenBadSignature,
    TokenError,
    TokenExpired,
    TokenIssuer,
    TokenMalformed,
    TokenNotYetValid,
    TokenVerifier,
    TokenWrongAudience,
    TokenWrongIssuer,
)

NOW = 1_700_000_000
ACCESS = parse_scopes(["repository:acme/app:pull,push registry:catalog:*"])


class Clock:
    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now


def make(keys=("old", "new"), **kw):
    clock = Clock()
    issuer = TokenIssuer(list(keys), "wharf-index", ttl=300, clock=clock)
    verifier = TokenVerifier(list(keys), clock=clock, **kw)
    return issuer, verifier, clock


def test_issue_and_verify():
    issuer, verifier, _ = make(issuer="wharf-index", audience="registry.local")
    token, claims = issuer.issue("alice", "registry.local", ACCESS)
    assert (claims.issued_at, claims.not_before, claims.expires_at) == (NOW, NOW, NOW + 300)
    assert claims.issuer == "wharf-index" and claims.subject == "alice"
    assert verifier.verify(token) == claims
    assert claims.allows("repository", "acme/app", "push")
    assert claims.allows("registry", "catalog", "*")
    assert not claims.allows("repository", "acme/app", "delete")
    assert not claims.allows("repository", "other", "pull")


def test_token_ids_are_unique_and_ttl_can_be_overridden():
    issuer, _, _ = make()
    ids = {issuer.issue("", "r", ())[1].token_id for _ in range(50)}
    assert len(ids) == 50
    assert issuer.issue("", "r", (), ttl=10)[1].expires_at == NOW + 10


def test_key_rotation_signs_with_newest_and_accepts_any_listed():
    old_issuer, _, clock = make(keys=["k1"])
    new_issuer = TokenIssuer(["k1", "k2"], "i", clock=clock)
    old_token, _ = old_issuer.issue("a", "r", ())
    new_token, _ = new_issuer.issue("a", "r", ())
    rotated = TokenVerifier(["k1", "k2"], clock=clock)
    assert rotated.verify(old_token).subject == "a"
    assert rotated.verify(new_token).subject == "a"
    assert TokenVerifier(["k2"], clock=clock).verify(new_token).subject == "a"
    with pytest.raises(TokenBadSignature):
        TokenVerifier(["k1"], clock=clock).verify(new_token)
    with pytest.raises(TokenBadSignature):
        TokenVerifier(["k2"], clock=clock).verify(old_token)


def test_expiry_with_leeway():
    issuer, verifier, clock = make()
    token, _ = issuer.issue("a", "r", ())
    clock.now = NOW + 300 + 59
    assert verifier.verify(token)
    clock.now = NOW + 300 + 60
    with pytest.raises(TokenExpired) as info:
        verifier.verify(token)
    assert info.value.reason == "expired"
    strict = TokenVerifier(["new"], leeway=0, clock=Clock(NOW + 300))
    with pytest.raises(TokenExpired):
        strict.verify(token)


def test_not_before_with_leeway():
    issuer, verifier, clock = make()
    token, _ = issuer.issue("a", "r", ())
    clock.now = NOW - 60
    assert verifier.verify(token)
    clock.now = NOW - 61
    with pytest.raises(TokenNotYetValid) as info:
        verifier.verify(token)
    assert info.value.reason == "not_yet_valid"


def test_audience_checked_when_configured_or_passed():
    issuer, verifier, _ = make()
    token, _ = issuer.issue("a", "registry-a", ())
    assert verifier.verify(token).audience == "registry-a"
    with pytest.raises(TokenWrongAudience) as info:
        verifier.verify(token, audience="registry-b")
    assert info.value.reason == "wrong_audience"
    _, configured, _ = make(audience="registry-b")
    with pytest.raises(TokenWrongAudience):
        configured.verify(token)
    assert configured.verify(token, audience="registry-a").audience == "registry-a"


def test_issuer_checked_when_configured():
    issuer, verifier, _ = make(issuer="someone-else")
    token, _ = issuer.issue("a", "r", ())
    with pytest.raises(TokenWrongIssuer) as info:
        verifier.verify(token)
    assert info.value.reason == "wrong_issuer"


@pytest.mark.parametrize("keys", [[], "key", ["ok", ""], [None], ["ok", b"bytes"], None])
def test_keys_must_be_non_empty_strings(keys):
    with pytest.raises(ValueError):
        TokenIssuer(keys, "i")
    with pytest.raises(ValueError):
        TokenVerifier(keys)


def test_bad_ttl_and_leeway():
    with pytest.raises(ValueError):
        TokenIssuer(["k"], "i", ttl=0)
    with pytest.raises(ValueError):
        TokenIssuer(["k"], "i").issue("a", "r", (), ttl=0)
    with pytest.raises(ValueError):
        TokenVerifier(["k"], leeway=-1)


def test_reprs_hide_keys():
    assert "sekrit" not in repr(TokenIssuer(["sekrit"], "i"))
    assert "sekrit" not in repr(TokenVerifier(["sekrit"], audience="r"))


def test_tampering_is_a_bad_signature():
    issuer, verifier, _ = make()
    token, _ = issuer.issue("alice", "r", ACCESS)
    payload, sig = token.rsplit(".", 1)
    for forged in (
        payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + sig,
        token[:-3],
        token[: len(token) // 2],
        "x" + token,
        payload,
    ):
        with pytest.raises(TokenBadSignature):
            verifier.verify(forged)


@pytest.mark.parametrize(
    "token", ["", "not a token", "é.x", "\ud800", "a" * 70000, None, 42, b"bytes.sig"]
)
def test_garbage_is_malformed(token):
    _, verifier, _ = make()
    with pytest.raises(TokenMalformed) as info:
        verifier.verify(token)
    assert info.value.reason == "malformed"


@pytest.mark.parametrize(
    "payload",
    [
        [1, 2],
        "str",
        {"iss": "i"},
        {**Claims("i", "s", "a", 1, 1, 2, "j").to_dict(), "exp": "2"},
        {**Claims("i", "s", "a", 1, 1, 2, "j").to_dict(), "iat": True},
        {**Claims("i", "s", "a", 1, 1, 2, "j").to_dict(), "access": {}},
        {**Claims("i", "s", "a", 1, 1, 2, "j").to_dict(), "access": ["x"]},
        {**Claims("i", "s", "a", 1, 1, 2, "j").to_dict(), "access": [{"type": "repository"}]},
        {
            **Claims("i", "s", "a", 1, 1, 2, "j").to_dict(),
            "access": [{"type": "repository", "name": "A", "actions": []}],
        },
        {
            **Claims("i", "s", "a", 1, 1, 2, "j").to_dict(),
            "access": [{"type": "repository", "name": "a", "actions": [["pull"]]}],
        },
    ],
)
def test_signed_but_invalid_claims_are_malformed(payload):
    signed = URLSafeSerializer(["k"], salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})
    with pytest.raises(TokenMalformed):
        TokenVerifier(["k"], clock=Clock(1)).verify(signed.dumps(payload))


def test_signed_undecodable_payload_is_malformed():
    signer = URLSafeSerializer(
        ["k"], salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
    ).make_signer(SALT)
    token = signer.sign(b"bm90IGpzb24").decode()  # base64url of "not json"
    with pytest.raises(TokenMalformed):
        TokenVerifier(["k"]).verify(token)


def test_claims_dict_round_trip_and_defaults():
    claims = Claims("i", "", "r", 1, 2, 3, "j", ACCESS)
    data = claims.to_dict()
    assert data["access"][0] == {
        "type": "repository",
        "name": "acme/app",
        "actions": ["pull", "push"],
    }
    assert Claims.from_dict(data) == claims
    del data["access"]
    assert Claims.from_dict(data).access == ()
    with pytest.raises(TokenMalformed):
        Claims.from_dict("nope")


def test_every_error_is_a_token_error_with_a_reason():
    reasons = {
        cls.reason
        for cls in (
            TokenMalformed,
            TokenBadSignature,
            TokenExpired,
            TokenNotYetValid,
            TokenWrongAudience,
            TokenWrongIssuer,
        )
    }
    assert reasons == {
        "malformed",
        "bad_signature",
        "expired",
        "not_yet_valid",
        "wrong_audience",
        "wrong_issuer",
    }
    assert issubclass(TokenExpired, TokenError)


scopes = st.builds(Scope, scope_types, scope_names, actions)


@settings(max_examples=100)
@given(
    st.text(max_size=30),
    st.text(max_size=30),
    st.lists(scopes, max_size=4),
    st.integers(1, 10**6),
    st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=3),
)
def test_issue_verify_round_trip(subject, audience, access, ttl, keys):
    clock = Clock()
    token, claims = TokenIssuer(keys, "idx", ttl=ttl, clock=clock).issue(subject, audience, access)
    verified = TokenVerifier(keys, issuer="idx", clock=clock).verify(token, audience=audience)
    assert verified == claims
    assert verified.access == tuple(access)
    assert Claims.from_dict(claims.to_dict()) == claims


@settings(max_examples=100)
@given(st.text(max_size=200))
def test_arbitrary_strings_only_raise_token_errors(text):
    _, verifier, _ = make()
    with pytest.raises((TokenMalformed, TokenBadSignature)):
        verifier.verify(text)
