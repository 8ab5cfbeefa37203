"""Scopes and challenges (distribution docs: token scope grammar, token authentication)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from protocol_strategies import actions, header_text, scope_names, scope_types
from wharf_protocol.scopes import (
    Challenge,
    ChallengeInvalid,
    Scope,
    ScopeInvalid,
    allows,
    basic_challenge,
    bearer_challenge,
    format_scope,
    intersect,
    parse_challenge,
    parse_scope,
    parse_scopes,
)

scopes = st.builds(Scope, scope_types, scope_names, actions)


def S(text):
    return parse_scope(text)


def test_parse_simple_and_catalog_scopes():
    assert S("repository:samalba/my-app:pull,push") == Scope(
        "repository", "samalba/my-app", frozenset({"pull", "push"})
    )
    assert S("registry:catalog:*") == Scope("registry", "catalog", frozenset({"*"}))
    assert S("repository(plugin):a/b:pull").type == "repository(plugin)"


def test_name_may_hold_a_host_with_port():
    scope = S("repository:localhost:5000/foo/bar:pull")
    assert scope.type == "repository"
    assert scope.name == "localhost:5000/foo/bar"
    assert scope.actions == {"pull"}


def test_empty_actions_are_allowed_and_skipped():
    assert S("repository:a:").actions == frozenset()
    assert S("repository:a:pull,,push,").actions == {"pull", "push"}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "repository",
        "repository:a",
        "Repository:a:pull",
        "repository:A:pull",
        "repository:a/:pull",
        "repository:a:PULL",
        "repository:a:pull push",
        "repo(x:a:pull",
        "repository::pull",
        ":a:pull",
        "repository:a b:pull",
        "repository:a:pu*ll",
        None,
    ],
)
def test_invalid_scopes(text):
    with pytest.raises(ScopeInvalid):
        parse_scope(text)


def test_scope_constructor_validates_actions():
    assert Scope("registry", "catalog").actions == frozenset()
    assert Scope("repository", "a", ["pull", "pull"]).actions == frozenset({"pull"})
    with pytest.raises(ScopeInvalid):
        Scope("repository", "a", "pull")
    with pytest.raises(ScopeInvalid):
        Scope("repository", "a", [1])
    with pytest.raises(ScopeInvalid):
        Scope("repository", None, ["pull"])


def test_format_sorts_actions():
    scope = Scope("repository", "a/b", {"push", "pull", "delete"})
    assert format_scope(scope) == str(scope) == "repository:a/b:delete,pull,push"


@settings(max_examples=100)
@given(scopes)
def test_scope_format_parse_round_trip(scope):
    assert parse_scope(format_scope(scope)) == scope
    assert parse_scopes([str(scope)]) == (scope,)


@settings(max_examples=60)
@given(st.lists(scopes, max_size=6), st.integers(1, 3))
def test_parse_scopes_merges_per_resource(items, per_value):
    texts = [str(s) for s in items]
    values = [" ".join(texts[i : i + per_value]) for i in range(0, len(texts), per_value)]
    parsed = parse_scopes(values)
    keys = list(dict.fromkeys((s.type, s.name) for s in items))
    assert [(s.type, s.name) for s in parsed] == keys
    for scope in parsed:
        same = [s.actions for s in items if (s.type, s.name) == (scope.type, scope.name)]
        expected = set().union(*same)
        assert scope.actions == expected


def test_parse_scopes_accepts_one_string_and_skips_blanks():
    assert parse_scopes("repository:a:pull  repository:a:push ") == (S("repository:a:pull,push"),)
    assert parse_scopes(["", "  "]) == ()


def test_intersect_grants_the_subset():
    requested = parse_scopes(["repository:a:pull,push repository:b:pull registry:catalog:*"])
    allowed = parse_scopes(["repository:a:pull repository:b:* repository:c:pull"])
    assert intersect(requested, allowed) == (S("repository:a:pull"), S("repository:b:pull"))
    assert intersect(requested, ()) == ()
    assert intersect([S("registry:catalog:*")], [S("registry:catalog:*")]) == (
        S("registry:catalog:*"),
    )
    assert intersect([S("repository:a:*")], [S("repository:a:pull,push")]) == ()


@settings(max_examples=60)
@given(st.lists(scopes, max_size=5), st.lists(scopes, max_size=5))
def test_intersect_never_grants_more_than_requested_or_allowed(requested, allowed):
    granted = intersect(requested, allowed)
    for scope in granted:
        assert scope.actions
        for action in scope.actions:
            assert allows(requested, scope.type, scope.name, action)
            assert allows(allowed, scope.type, scope.name, action)
    assert intersect(granted, allowed) == granted


def test_allows():
    access = parse_scopes(["repository:a:pull registry:catalog:* repository:b:*"])
    assert allows(access, "repository", "a", "pull")
    assert not allows(access, "repository", "a", "push")
    assert allows(access, "registry", "catalog", "*")
    assert allows(access, "repository", "b", "delete")
    assert not allows(access, "repository", "c", "pull")
    assert not allows((), "repository", "a", "pull")


def test_bearer_challenge_shape():
    header = bearer_challenge(
        "https://index.example/v2/token",
        "registry.example",
        [S("repository:a/b:push,pull"), "registry:catalog:*"],
    )
    assert header == (
        'Bearer realm="https://index.example/v2/token",service="registry.example",'
        'scope="repository:a/b:pull,push registry:catalog:*"'
    )
    assert bearer_challenge("r", "s") == 'Bearer realm="r",service="s"'
    assert bearer_challenge("r", "s", error="insufficient_scope").endswith(
        ',error="insufficient_scope"'
    )
    assert basic_challenge('Wharf "reg"') == 'Basic realm="Wharf \\"reg\\""'


def test_builders_refuse_control_characters():
    with pytest.raises(ChallengeInvalid):
        bearer_challenge("https://x\r\nSet-Cookie: a=b", "s")


@settings(max_examples=100)
@given(header_text, header_text, st.lists(scopes, max_size=4), st.sampled_from([None, "x y"]))
def test_bearer_challenge_round_trip(realm, service, items, error):
    challenge = parse_challenge(bearer_challenge(realm, service, items, error=error))
    assert challenge.scheme == "bearer"
    assert challenge.params["realm"] == realm
    assert challenge.params["service"] == service
    assert challenge.params.get("error") == error
    assert challenge.scopes == parse_scopes([" ".join(str(s) for s in items)])
    assert parse_challenge(str(challenge)) == challenge


@settings(max_examples=100)
@given(header_text)
def test_basic_challenge_round_trip(realm):
    assert parse_challenge(basic_challenge(realm)) == Challenge("basic", {"realm": realm})


def test_parse_challenge_variants():
    assert parse_challenge('BEARER Realm = "a,b" , service=reg ,scope="x"') == Challenge(
        "bearer", {"realm": "a,b", "service": "reg", "scope": "x"}
    )
    assert parse_challenge("Bearer") == Challenge("bearer", {})
    assert str(Challenge("bearer", {})) == "Bearer"
    assert parse_challenge('Bearer realm="a", Basic realm="b"').params == {"realm": "a"}
    assert parse_challenge('Bearer realm="a",Negotiate').params == {"realm": "a"}
    assert parse_challenge('Bearer realm="a\\\\b\\"c"').params == {"realm": 'a\\b"c'}
    assert parse_challenge("Bearer realm=x,").params == {"realm": "x"}
    assert Challenge("bearer").scopes == ()


@pytest.mark.parametrize(
    "header",
    [
        "",
        "   ",
        '"Bearer"',
        'Bearer realm="unterminated',
        "Bearer realm=",
        "Bearer =x",
        'Bearer realm="a" junk=',
        None,
    ],
)
def test_parse_challenge_rejects_malformed_values(header):
    with pytest.raises(ChallengeInvalid):
        parse_challenge(header)
