"""The ``wharf`` policy claim: tag patterns, quotas, pull limits, and their round trip."""

from __future__ import annotations

import pytest
from wharf_protocol.keys import KeySet, SigningKey
from wharf_protocol.policy import (
    NamespaceQuota,
    Policy,
    PolicyInvalid,
    PullLimit,
    RepositoryPolicy,
    check_tag_pattern,
    tag_matches,
)
from wharf_protocol.scopes import Scope
from wharf_protocol.tokens import Claims, TokenIssuer, TokenMalformed, TokenVerifier


@pytest.mark.parametrize(
    ("patterns", "tag", "expected"),
    [
        (["v*"], "v1.2", True),
        (["v*"], "V1", False),
        (["v*"], "latest", False),
        (["release-?"], "release-1", True),
        (["release-?"], "release-10", False),
        (["[0-9]*"], "2024", True),
        (["latest", "stable"], "stable", True),
        ([], "anything", False),
    ],
)
def test_tag_matches(patterns, tag, expected):
    assert tag_matches(patterns, tag) is expected


@pytest.mark.parametrize("pattern", ["", "a" * 129, "v/1", "v 1", "ü*", None, 3])
def test_bad_patterns_are_refused(pattern):
    with pytest.raises(PolicyInvalid):
        check_tag_pattern(pattern)


def test_empty_policy_is_false_and_leaves_the_claim_out():
    claims = Claims("i", "s", "a", 1, 1, 2, "j")
    assert not claims.policy
    assert "wharf" not in claims.to_dict()


def test_policy_round_trips_through_a_signed_token():
    policy = Policy(
        {"acme/app": RepositoryPolicy(("v*",))},
        {"acme": NamespaceQuota(limit=10, used=3)},
        PullLimit(limit=100, remaining=7, window=21600),
    )
    key = SigningKey.generate()
    issuer = TokenIssuer(key, "index")
    token, claims = issuer.issue(
        "alice", "reg", [Scope("repository", "acme/app", ["push"])], policy=policy
    )
    verified = TokenVerifier(KeySet([key.public]), audience="reg").verify(token)
    assert verified.policy == policy
    assert verified.policy.repository("acme/app").is_immutable("v2")
    assert not verified.policy.repository("acme/other").is_immutable("v2")
    assert verified.policy.quota("acme") == NamespaceQuota(10, 3)
    assert verified.policy.quota("other") is None
    assert verified.policy.pulls == PullLimit(100, 7, 21600)
    assert claims.to_dict()["wharf"]["quotas"] == {"acme": {"limit": 10, "used": 3}}


@pytest.mark.parametrize(
    "claim",
    [
        "x",
        {"repositories": []},
        {"repositories": {"a/b": {"immutable": "v*"}}},
        {"repositories": {"a/b": {"immutable": ["v/*"]}}},
        {"quotas": {"acme": {"limit": -1, "used": 0}}},
        {"quotas": {"acme": {"limit": True, "used": 0}}},
        {"quotas": {"acme": {"limit": 2**63, "used": 0}}},
        {"pulls": {"limit": 1, "remaining": 1, "window": 0}},
        {"pulls": {"limit": 1, "remaining": 1}},
    ],
)
def test_malformed_policy_claims_make_the_token_malformed(claim):
    data = Claims("i", "s", "a", 1, 1, 2, "j").to_dict()
    data["wharf"] = claim
    with pytest.raises(TokenMalformed, match="wharf"):
        Claims.from_dict(data)


def test_remaining_pulls_never_exceed_the_limit():
    assert PullLimit.from_claim({"limit": 5, "remaining": 9, "window": 60}).remaining == 5
