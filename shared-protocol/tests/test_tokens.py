"""Registry tokens: issue, verify, rotate keys, refuse bad tokens (Docker token specification,
JWT per RFC 7519 signed per RFC 7515/7518)."""

import base64
import json

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from protocol_strategies import actions, scope_names, scope_types
from wharf_protocol.keys import KeySet, SigningKey
from wharf_protocol.scopes import Scope, parse_scopes
from wharf_protocol.tokens import (
    Claims,
    TokenBadSignature,
    TokenError,
    TokenExpired,
    TokenIssuer,
    TokenMalformed,
    TokenNotYetValid,
    TokenUnknownKey,
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


OLD, NEW = SigningKey.generate(), SigningKey.generate()
RSA = SigningKey.generate("RS256")
STRANGER = SigningKey.generate()


def make(key=NEW, trusted=(OLD, NEW, RSA), **kw):
    clock = Clock()
    issuer = TokenIssuer(key, "wharf-index", ttl=300, clock=clock)
    verifier = TokenVerifier(KeySet(k.public for k in trusted), clock=clock, **kw)
    return issuer, verifier, clock


def _b64(data) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed(payload, key=NEW, headers=None) -> str:
    """A JWT over an arbitrary payload, signed by ``key`` as the issuer would."""
    headers = {"kid": key.kid, **(headers or {})}
    if isinstance(payload, bytes):
        header = _b64({"alg": key.algorithm, "typ": "JWT", **headers})
        signing_input = f"{header}.{_b64(payload)}".encode()
        algorithm = jwt.get_algorithm_by_name(key.algorithm)
        signature = algorithm.sign(signing_input, key.private_key)  # JWS form (r || s for EC)
        return f"{signing_input.decode()}.{_b64(signature)}"
    return jwt.encode(payload, key.private_key, key.algorithm, headers=headers)


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


def test_rotation_signs_with_the_current_key_and_accepts_any_published():
    current = [OLD]
    issuer = TokenIssuer(lambda: current[0], "i", clock=Clock())
    old_token, _ = issuer.issue("a", "r", ())
    current[0] = NEW
    new_token, _ = issuer.issue("a", "r", ())
    assert jwt.get_unverified_header(old_token)["kid"] == OLD.kid
    assert jwt.get_unverified_header(new_token)["kid"] == NEW.kid
    both = TokenVerifier(KeySet([OLD.public, NEW.public]), clock=Clock())
    assert both.verify(old_token).subject == both.verify(new_token).subject == "a"
    assert TokenVerifier(KeySet([NEW.public]), clock=Clock()).verify(new_token).subject == "a"
    with pytest.raises(TokenUnknownKey) as info:
        TokenVerifier(KeySet([NEW.public]), clock=Clock()).verify(old_token)
    assert info.value.reason == "unknown_key"
    assert isinstance(info.value, TokenBadSignature)


def test_the_header_names_the_key_and_carries_its_certificate():
    issuer, verifier, _ = make()
    token, _ = issuer.issue("a", "r", ())
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["typ"] == "JWT"
    assert header["kid"] == NEW.kid and header["x5c"] == NEW.x5c
    # Found by its certificate alone (the reference registry's x5c form) ...
    no_kid = signed(
        json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")),
        NEW,
        {"kid": "not-a-known-id", "x5c": NEW.x5c},
    )
    assert verifier.verify(no_kid).subject == "a"
    # ... but a certificate of an untrusted key does not make it trusted.
    stranger = signed(
        Claims("wharf-index", "a", "r", NOW, NOW, NOW + 9, "j").to_dict(),
        STRANGER,
        {"x5c": STRANGER.x5c},
    )
    with pytest.raises(TokenUnknownKey):
        verifier.verify(stranger)


@pytest.mark.parametrize("key", [NEW, RSA], ids=["ES256", "RS256"])
def test_issued_tokens_are_standard_jwts(key):
    """The issuer builds the JWS itself (its header once per key): PyJWT's full decoder, a
    standard implementation, accepts the tokens, with the claims and header as issued."""
    issuer = TokenIssuer(key, "wharf-index", ttl=300)
    for _ in range(2):  # the second token reuses the encoded header
        token, claims = issuer.issue("alice", "registry.test", ACCESS)
        decoded = jwt.decode(
            token,
            key.public.key,
            algorithms=[key.algorithm],
            audience="registry.test",
            issuer="wharf-index",
        )
        assert decoded == claims.to_dict()
        header = jwt.get_unverified_header(token)
        assert header == {"alg": key.algorithm, "kid": key.kid, "typ": "JWT", "x5c": key.x5c}


def test_rs256_tokens_verify_with_their_key_only():
    issuer, verifier, _ = make(key=RSA)
    token, _ = issuer.issue("a", "r", ())
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert verifier.verify(token).subject == "a"
    with pytest.raises(TokenUnknownKey):
        TokenVerifier(KeySet([NEW.public]), clock=Clock()).verify(token)


def test_an_algorithm_other_than_the_keys_is_refused():
    """No algorithm confusion: HS256 "signed" with the public key, or alg none, never pass."""
    claims = Claims("wharf-index", "a", "r", NOW, NOW, NOW + 9, "j").to_dict()
    _, verifier, _ = make()
    header = _b64({"alg": "none", "kid": NEW.kid})
    with pytest.raises(TokenMalformed):
        verifier.verify(f"{header}.{_b64(claims)}.")
    rs_as_es = signed(claims, RSA, {"kid": NEW.kid})  # RS256 signature, names the ES256 key
    with pytest.raises((TokenMalformed, TokenBadSignature)):
        verifier.verify(rs_as_es)


def test_expiry_with_leeway():
    issuer, verifier, clock = make()
    token, _ = issuer.issue("a", "r", ())
    clock.now = NOW + 300 + 59
    assert verifier.verify(token)
    clock.now = NOW + 300 + 60
    with pytest.raises(TokenExpired) as info:
        verifier.verify(token)
    assert info.value.reason == "expired"
    strict = TokenVerifier(KeySet([NEW.public]), leeway=0, clock=Clock(NOW + 300))
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


@pytest.mark.parametrize("key", [None, "key", b"bytes", ["k"], NEW.public])
def test_the_issuer_needs_a_signing_key(key):
    with pytest.raises(ValueError):
        TokenIssuer(key, "i")


def test_bad_ttl_and_leeway():
    with pytest.raises(ValueError):
        TokenIssuer(NEW, "i", ttl=0)
    with pytest.raises(ValueError):
        TokenIssuer(NEW, "i").issue("a", "r", (), ttl=0)
    with pytest.raises(ValueError):
        TokenVerifier(KeySet([NEW.public]), leeway=-1)


def test_reprs_hide_keys():
    assert "PRIVATE" not in repr(TokenIssuer(NEW, "i")) + repr(NEW)
    assert NEW.kid not in repr(TokenIssuer(NEW, "i"))


def test_foreign_tokens_may_leave_out_optional_claims_and_list_audiences():
    """Other token servers (the reference registry needs none of sub, iat, nbf, jti)."""
    _, verifier, _ = make()
    minimal = signed({"iss": "other", "aud": ["x", "registry-a"], "exp": NOW + 60}, NEW)
    claims = verifier.verify(minimal, audience="registry-a")
    assert (claims.subject, claims.issued_at, claims.not_before, claims.token_id) == ("", 0, 0, "")
    assert claims.audience == "registry-a"
    with pytest.raises(TokenWrongAudience):
        verifier.verify(minimal, audience="registry-b")
    with pytest.raises(TokenMalformed):
        verifier.verify(signed({"iss": "o", "aud": [1], "exp": NOW + 60}, NEW))


def test_tampering_is_a_bad_signature():
    issuer, verifier, _ = make()
    token, _ = issuer.issue("alice", "r", ACCESS)
    header, payload, sig = token.split(".")
    other = _b64({**Claims("wharf-index", "root", "r", NOW, NOW, NOW + 9, "j").to_dict()})
    for forged in (
        f"{header}.{other}.{sig}",
        f"{header}.{payload}.",
        f"{header}.{payload}.{sig[:10]}{'A' if sig[10] != 'A' else 'B'}{sig[11:]}",
    ):
        with pytest.raises(TokenBadSignature):
            verifier.verify(forged)
    with pytest.raises((TokenBadSignature, TokenMalformed)):  # not even base64 any more
        verifier.verify(token[:-3])


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not a token",
        "é.x",
        "\ud800",
        "a" * 70000,
        None,
        42,
        b"bytes.sig",
        "a.b",
        "a.b.c",
        "x" + "a.b.c",
        _b64({"alg": "HS256"}) + ".e30.sig",
        _b64({"alg": "ES256"}) + ".e30.%%",
    ],
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
    token = signed(json.dumps(payload).encode())
    with pytest.raises(TokenMalformed):
        TokenVerifier(KeySet([NEW.public]), clock=Clock(1)).verify(token)


@pytest.mark.parametrize("key", [NEW, RSA], ids=["ES256", "RS256"])
def test_signed_undecodable_payload_is_malformed(key):
    with pytest.raises(TokenMalformed):
        TokenVerifier(KeySet([key.public])).verify(signed(b"not json", key))


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
            TokenUnknownKey,
            TokenExpired,
            TokenNotYetValid,
            TokenWrongAudience,
            TokenWrongIssuer,
        )
    }
    assert reasons == {
        "malformed",
        "bad_signature",
        "unknown_key",
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
    st.sampled_from([NEW, RSA]),
)
def test_issue_verify_round_trip(subject, audience, access, ttl, key):
    clock = Clock()
    token, claims = TokenIssuer(key, "idx", ttl=ttl, clock=clock).issue(subject, audience, access)
    trusted = KeySet([key.public])
    verified = TokenVerifier(trusted, issuer="idx", clock=clock).verify(token, audience=audience)
    assert verified == claims
    assert verified.access == tuple(access)
    assert Claims.from_dict(claims.to_dict()) == claims


@settings(max_examples=100)
@given(st.text(max_size=200))
def test_arbitrary_strings_only_raise_token_errors(text):
    _, verifier, _ = make()
    with pytest.raises((TokenMalformed, TokenBadSignature)):
        verifier.verify(text)
