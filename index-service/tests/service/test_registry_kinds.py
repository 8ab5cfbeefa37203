"""Registry kinds as token policy (the README's "Registry kinds"; domain.policy.registry_actions).

One registry of each kind serves the organisation ``acme``; every caller asks each action of
each one at the real token endpoint, on PostgreSQL, and the token's grants (or the refusal
with its reason) are checked against the table below.
"""

from __future__ import annotations

import pytest
from wharf_index.domain import errors, policy
from wharf_index.domain.model import ANONYMOUS, SYSTEM
from wharf_index.services import catalog, orgs, registries, repositories

from tests.service.conftest import access_of, basic

KINDS = ("private", "sponsor", "mirror", "vendor")
CALLERS = ("anonymous", "outsider", "member", "reader", "admin")
#: caller -> user name: bob belongs to nothing of acme, alice owns it (a member with every
#: right), dave is in acme's read team for all its repositories, carol is an administrator.
USERS = {
    "anonymous": None,
    "outsider": "bob",
    "member": "alice",
    "reader": "dave",
    "admin": "carol",
}
ACTIONS = {
    "pull public": "repository:acme/public:pull",
    "pull private": "repository:acme/private:pull",
    "push": "repository:acme/private:push",
    "delete": "repository:acme/private:delete",
    "catalog": "registry:catalog:*",
}
NO = frozenset()
REFUSED = "refused"  # 401 DENIED from the token endpoint, with the kind's reason


def _row(*cells):
    return dict(zip(ACTIONS, cells, strict=True))


P, U, D, C = frozenset({"pull"}), frozenset({"push"}), frozenset({"delete"}), frozenset({"*"})
# fmt: off
EXPECTED = {
    "private": {
        "anonymous": _row(REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
        "outsider":  _row(P, NO, NO, NO, C),
        "member":    _row(P, P, U, D, C),
        "reader":    _row(P, P, NO, NO, C),
        "admin":     _row(P, P, U, D, C),
    },
    "sponsor": {
        "anonymous": _row(P, NO, NO, NO, C),
        "outsider":  _row(P, NO, NO, NO, C),
        "member":    _row(P, P, U, D, C),
        "reader":    _row(P, P, NO, NO, C),
        "admin":     _row(P, P, U, D, C),
    },
    "mirror": {
        "anonymous": _row(REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
        "outsider":  _row(NO, NO, REFUSED, REFUSED, C),
        "member":    _row(P, P, REFUSED, REFUSED, C),
        "reader":    _row(P, P, REFUSED, REFUSED, C),
        "admin":     _row(P, P, REFUSED, REFUSED, C),
    },
    "vendor": {
        "anonymous": _row(P, NO, NO, NO, C),
        "outsider":  _row(P, NO, NO, NO, C),
        "member":    _row(P, P, U, D, C),
        "reader":    _row(P, P, NO, NO, C),
        "admin":     _row(P, P, U, D, C),
    },
}
# fmt: on
REASONS = {
    ("private", "anonymous"): "kind-private.test is a private registry: sign in to",
    ("mirror", "anonymous"): "kind-mirror.test is a mirror registry: sign in to",
    ("mirror", "write"): "kind-mirror.test is a mirror: it is read-only (pull only)",
}


def _service(kind: str) -> str:
    return f"kind-{kind}.test"


@pytest.fixture
def world(uow, users, make_user, principal):
    """acme (owned by alice; dave in its read team), acme/public and acme/private, and one
    registry of each kind serving acme (filtering its catalog, as Wharf's registry does);
    their credentials by kind."""
    make_user("dave")
    orgs.create_org(uow, "acme", owner="alice", actor=SYSTEM)
    orgs.create_team(uow, "acme", "readers", "read", all_repositories=True, actor=SYSTEM)
    orgs.add_team_member(uow, "acme", "readers", "dave", actor=SYSTEM)
    for visibility in ("public", "private"):
        name = f"acme/{visibility}"
        repositories.create_repository(uow, principal("alice"), name, visibility=visibility)
    credentials = {}
    for kind in KINDS:
        _, credentials[kind] = registries.add_registry(
            uow, _service(kind), f"http://{_service(kind)}", kind, ["acme"], actor=SYSTEM
        )
        registries.set_catalog(uow, _service(kind), "filtered", actor=SYSTEM)
    return credentials


def _ask(client, kind: str, caller: str, *scopes: str):
    user = USERS[caller]
    return client.get(
        "/v2/token",
        query_string={"service": _service(kind), "scope": list(scopes)},
        headers=basic(user) if user else {},
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("caller", CALLERS)
def test_each_kind_grants_each_caller_what_its_table_row_says(
    client, claims_of, world, kind, caller
):
    for action, scope in ACTIONS.items():
        expected = EXPECTED[kind][caller][action]
        for attempt in ("first", "remembered"):  # a fresh login, then the credential cache
            response = _ask(client, kind, caller, scope)
            where = f"{kind}/{caller}/{action} ({attempt})"
            if expected == REFUSED:
                assert response.status_code == 401, where
                error = response.get_json()["error"]
                assert error["code"] == "DENIED", where
                reason = REASONS[(kind, "anonymous" if caller == "anonymous" else "write")]
                assert error["message"].startswith(reason), (where, error["message"])
                challenge = response.headers["WWW-Authenticate"]
                assert 'error="insufficient_scope"' in challenge, where
                assert f'error_description="{error["message"]}"' in challenge, where
                continue
            assert response.status_code == 200, (where, response.get_data(as_text=True))
            granted = access_of(claims_of(response.get_json()["token"]))
            name = scope.rsplit(":", 1)[0]
            assert granted.get(name, set()) == set(expected), where


def test_a_mirror_never_grants_or_allocates_a_push(client, claims_of, world, uow):
    refused = _ask(client, "mirror", "member", "repository:acme/new:pull,push")
    assert refused.status_code == 401
    assert "read-only" in refused.get_json()["error"]["message"]
    star = _ask(client, "mirror", "admin", "repository:acme/private:*")
    assert star.status_code == 401
    with uow:
        assert uow.repositories.find("acme/new") is None
    # what the same member may do on the sponsor registry: the kind made the difference
    allowed = _ask(client, "sponsor", "member", "repository:acme/new:pull,push")
    assert access_of(claims_of(allowed.get_json()["token"])) == {
        "repository:acme/new": {"pull", "push"}
    }


@pytest.mark.parametrize("kind", KINDS)
def test_namespaces_outside_the_registrys_get_nothing(client, claims_of, world, uow, kind):
    """alice may push to her own namespace but not at a registry serving only acme: asked
    alone, a mirror or vendor (whose namespaces are its policy) refuses saying why, other
    kinds issue a token granting nothing (scenario E); beside a scope the registry serves (a
    mount's source in another namespace), it is simply not granted."""
    alone = _ask(client, kind, "member", "repository:alice/app:pull,push")
    if kind in ("mirror", "vendor"):
        assert alone.status_code == 401
        message = alone.get_json()["error"]["message"]
        assert message == f"alice/app: {_service(kind)} serves only its own namespaces, not alice"
    else:
        assert alone.status_code == 200
        assert claims_of(alone.get_json()["token"]).access == ()
    with uow:
        assert uow.repositories.find("alice/app") is None  # nothing allocated
    mixed = _ask(client, kind, "admin", "repository:acme/private:pull", "repository:alice/app:pull")
    assert access_of(claims_of(mixed.get_json()["token"])) == {"repository:acme/private": {"pull"}}


@pytest.mark.parametrize("kind", ("mirror", "vendor"))
def test_a_mirror_or_vendor_without_namespaces_serves_nothing(client, world, uow, sql, kind):
    """The directory refuses such a registry; one recorded before that rule (here by SQL)
    serves nothing rather than every namespace."""
    with pytest.raises(errors.ValueInvalid):
        registries.add_registry(uow, "bare.test", "http://bare.test", kind, actor=SYSTEM)
    registries.add_registry(uow, "bare.test", "http://bare.test", "sponsor", actor=SYSTEM)
    with pytest.raises(errors.ValueInvalid):
        registries.set_kind(uow, "bare.test", kind, actor=SYSTEM)
    sql("UPDATE registries SET kind = %s WHERE name = 'bare.test'", (kind,))
    response = client.get(
        "/v2/token",
        query_string={"service": "bare.test", "scope": "repository:acme/public:pull"},
        headers=basic("carol"),
    )
    assert response.status_code == 401
    assert response.get_json()["error"]["message"] == (
        f"bare.test is a {kind} registry that serves no namespace yet"
    )


def test_anonymous_token_without_scopes_is_still_issued_at_a_private_registry(
    client, claims_of, world
):
    """What clients fetch before their first request (no scope): no access, no refusal."""
    response = _ask(client, "private", "anonymous")
    assert response.status_code == 200
    assert claims_of(response.get_json()["token"]).access == ()


#: The names a registry of each kind asks about (catalog.pullable): what the table says of
#: "pull public" and "pull private", a name of acme the Index has no record of (pulled, as
#: a private one, by acme's insiders: the registry answers them "unknown"), and a public
#: repository outside acme, which no registry serving only acme lists.
CATALOG = {"acme/public": "pull public", "acme/private": "pull private", "acme/ghost": None}
OUTSIDE = "bob/public"


def _listed(kind: str, caller: str) -> list[str]:
    """The names of CATALOG the token table lets ``caller`` pull at ``kind``."""
    row = EXPECTED[kind][caller]
    return [n for n, action in CATALOG.items() if row[action or "pull private"] == P]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("caller", CALLERS)
def test_a_registrys_catalog_lists_what_its_kind_lets_each_caller_pull(
    client, make_index_client, world, uow, principal, kind, caller
):
    """/internal/v1/catalog/pullable answers with the token table above: the same decision
    (services.access.decide with the registry's rules) as the token endpoint."""
    repositories.create_repository(uow, principal("bob"), OUTSIDE, visibility="public")
    names = [*CATALOG, OUTSIDE]
    ask = _ask(client, kind, caller, "registry:catalog:*")
    if EXPECTED[kind][caller]["catalog"] == REFUSED:
        assert ask.status_code == 401  # no catalog token: the kind refuses to list
        rules = policy.RegistryRules(_service(kind), kind, frozenset({"acme"}))
        assert catalog.pullable(uow, ANONYMOUS, names, rules) == []
        return
    index = make_index_client(_service(kind), world[kind])
    assert index.pullable(ask.get_json()["token"], names) == _listed(kind, caller), caller


def test_a_catalog_token_follows_a_kind_changed_since(client, make_index_client, world, uow):
    """A token issued while the registry was a sponsor lists nothing once it is private
    (anonymous) or a mirror (a signed-in caller without a role)."""
    index = make_index_client(_service("sponsor"), world["sponsor"])
    anonymous = _ask(client, "sponsor", "anonymous", "registry:catalog:*").get_json()["token"]
    outsider = _ask(client, "sponsor", "outsider", "registry:catalog:*").get_json()["token"]
    assert index.pullable(anonymous, list(CATALOG)) == ["acme/public"]
    assert index.pullable(outsider, list(CATALOG)) == ["acme/public"]
    registries.set_kind(uow, _service("sponsor"), "private", actor=SYSTEM)
    assert index.pullable(anonymous, list(CATALOG)) == []
    assert index.pullable(outsider, list(CATALOG)) == ["acme/public"]
    registries.set_kind(uow, _service("sponsor"), "mirror", actor=SYSTEM)
    assert index.pullable(outsider, list(CATALOG)) == []


def test_the_index_itself_lists_every_name_whatever_the_kind(uow, world):
    """registry sync's tokens (SYSTEM) follow no kind, as the Index's other own calls."""
    rules = policy.RegistryRules(_service("mirror"), "mirror", frozenset({"acme"}))
    names = [*CATALOG, OUTSIDE, "zed/unknown"]
    assert catalog.pullable(uow, SYSTEM, names, rules) == names
