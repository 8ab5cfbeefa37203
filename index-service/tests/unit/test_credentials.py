"""Access-token strings and the keyed hashes of high-entropy secrets."""

from __future__ import annotations

from wharf_index.services import credentials as c


def test_access_token_round_trip():
    public_id, secret = c.new_public_id(), c.new_secret()
    token = c.format_access_token(public_id, secret)
    assert c.looks_like_access_token(token)
    assert c.parse_access_token(token) == (public_id, secret)


def test_malformed_tokens_do_not_parse():
    for value in ("", "wharf_pat_", "wharf_pat_short_x", "password", "wharf_pat_" + "a" * 60):
        assert c.parse_access_token(value) is None


def test_hashes_are_separated_by_purpose():
    secret = c.new_secret()
    token_hash = c.hash_secret(c.PURPOSE_ACCESS_TOKEN, secret)
    assert c.matches(c.PURPOSE_ACCESS_TOKEN, secret, token_hash)
    assert not c.matches(c.PURPOSE_REGISTRY, secret, token_hash)
    assert not c.matches(c.PURPOSE_ACCESS_TOKEN, c.new_secret(), token_hash)


def test_secrets_are_random_and_long():
    assert len({c.new_secret() for _ in range(50)}) == 50
    assert len(c.new_secret()) == 43
