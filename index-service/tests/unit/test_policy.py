"""The access policy, without a database."""

from __future__ import annotations

import pytest
from wharf_index.domain import policy
from wharf_index.domain.model import (
    ANONYMOUS,
    Grants,
    Namespace,
    Principal,
    Repository,
    TokenScope,
    User,
)
from wharf_protocol.scopes import Scope

ALICE_NS = Namespace(1, "alice", "user", "private")
ACME_NS = Namespace(2, "acme", "org", "private")


def repo(rid=10, ns=ALICE_NS, name="app", visibility="private", status="active"):
    return Repository(rid, ns.id, ns.name, name, visibility, status=status)


def user(uid=1, name="alice", admin=False):
    return User(uid, name, f"{name}@x", is_admin=admin, namespace_id=uid)


def principal(namespaces=None, repositories=None, scopes=None, admin=False, uid=1):
    grants = Grants(namespaces or {}, repositories or {})
    return Principal(user=user(uid, admin=admin), grants=grants, scopes=scopes)


OWNER = principal({ALICE_NS.id: "admin"})
STRANGER = principal(uid=9)


def test_owner_may_do_everything():
    assert policy.allowed_actions(OWNER, repo()) == {"pull", "push", "delete"}


def test_strangers_and_anonymous_get_nothing_on_private():
    assert policy.allowed_actions(STRANGER, repo()) == set()
    assert policy.allowed_actions(ANONYMOUS, repo()) == set()
    assert not policy.may_see(ANONYMOUS, repo())


def test_everyone_may_pull_public():
    public = repo(visibility="public")
    assert policy.allowed_actions(ANONYMOUS, public) == {"pull"}
    assert policy.allowed_actions(STRANGER, public) == {"pull"}
    assert policy.may_see(ANONYMOUS, public)


@pytest.mark.parametrize(
    ("role", "actions"),
    [
        ("read", {"pull"}),
        ("write", {"pull", "push"}),
        ("admin", {"pull", "push", "delete"}),
    ],
)
def test_repository_roles(role, actions):
    collaborator = principal(repositories={10: role}, uid=5)
    assert policy.allowed_actions(collaborator, repo()) == actions
    assert policy.allowed_actions(collaborator, repo(rid=11)) == set()


def test_namespace_role_covers_every_repository_and_strongest_wins():
    member = principal({ACME_NS.id: "read"}, {20: "write"}, uid=5)
    assert policy.allowed_actions(member, repo(20, ACME_NS)) == {"pull", "push"}
    assert policy.allowed_actions(member, repo(21, ACME_NS)) == {"pull"}


def test_admin_may_do_everything():
    admin = principal(admin=True, uid=7)
    assert policy.allowed_actions(admin, repo()) == {"pull", "push", "delete"}


def test_deleting_repository_allows_only_delete():
    assert policy.allowed_actions(OWNER, repo(status="deleting")) == {"delete"}
    gone = repo(visibility="public", status="deleting")
    assert policy.allowed_actions(ANONYMOUS, gone) == set()


def test_token_scopes_limit_everything():
    only_pull = (TokenScope("alice/app", frozenset({"pull"})),)
    scoped = principal({ALICE_NS.id: "admin"}, scopes=only_pull)
    assert policy.allowed_actions(scoped, repo()) == {"pull"}
    assert policy.allowed_actions(scoped, repo(11, name="other")) == set()
    admin_scoped = principal(admin=True, scopes=(TokenScope("alice/*", frozenset({"*"})),))
    assert policy.allowed_actions(admin_scoped, repo()) == {"pull", "push", "delete"}
    assert policy.allowed_actions(admin_scoped, repo(30, ACME_NS)) == set()


def test_scope_patterns():
    assert TokenScope("alice/*", frozenset()).matches("alice/a/b")
    assert not TokenScope("alice/*", frozenset()).matches("alicex/a")
    assert not TokenScope("alice/app", frozenset()).matches("alice/app2")
    assert TokenScope("*", frozenset()).matches("anything/at-all")


def test_may_create_repository():
    assert policy.may_create_repository(OWNER, ALICE_NS, "alice/new")
    assert not policy.may_create_repository(OWNER, ACME_NS, "acme/new")
    assert not policy.may_create_repository(ANONYMOUS, ALICE_NS)
    assert policy.may_create_repository(principal({ACME_NS.id: "write"}, uid=3), ACME_NS)
    assert not policy.may_create_repository(principal({ACME_NS.id: "read"}, uid=3), ACME_NS)
    assert policy.may_create_repository(principal(admin=True, uid=4), ACME_NS, "acme/x")
    pull_only = principal(
        {ALICE_NS.id: "admin"}, scopes=(TokenScope("alice/*", frozenset({"pull"})),)
    )
    assert not policy.may_create_repository(pull_only, ALICE_NS, "alice/new")


def test_grant_intersects_and_never_fails():
    repos = {"alice/app": repo(), "alice/pub": repo(12, name="pub", visibility="public")}
    requested = (
        Scope("repository", "alice/app", frozenset({"pull", "push"})),
        Scope("repository", "alice/pub", frozenset({"pull", "push"})),
        Scope("repository", "alice/missing", frozenset({"pull"})),
        Scope("registry", "other", frozenset({"*"})),
    )
    assert policy.grant(ANONYMOUS, requested, repos.get) == (
        Scope("repository", "alice/pub", frozenset({"pull"})),
    )
    granted = policy.grant(OWNER, requested, repos.get)
    assert granted == (
        Scope("repository", "alice/app", frozenset({"pull", "push"})),
        Scope("repository", "alice/pub", frozenset({"pull", "push"})),
    )


def test_grant_star_expands_to_allowed_actions_and_catalog_is_for_everyone():
    repos = {"alice/app": repo()}
    star = (Scope("repository", "alice/app", frozenset({"*"})),)
    assert policy.grant(OWNER, star, repos.get)[0].actions == {"pull", "push", "delete"}
    catalog = (Scope("registry", "catalog", frozenset({"*", "search", "other"})),)
    listing = (Scope("registry", "catalog", frozenset({"*", "search"})),)
    # listing shows what the caller may pull (the registry asks: services/catalog.py)
    assert policy.grant(OWNER, catalog, repos.get) == listing
    assert policy.grant(ANONYMOUS, catalog, repos.get) == listing
    assert policy.grant(principal(admin=True), catalog, repos.get) == listing
    other = (Scope("registry", "other", frozenset({"*"})),)
    assert policy.grant(principal(admin=True), other, repos.get) == ()


def test_namespace_administration():
    assert policy.may_administer_namespace(OWNER, ALICE_NS)
    assert not policy.may_administer_namespace(OWNER, ACME_NS)
    assert not policy.may_administer_namespace(ANONYMOUS, ALICE_NS)
    assert policy.may_administer(OWNER, repo())
    assert not policy.may_administer(principal(repositories={10: "write"}, uid=5), repo())


def test_administration_needs_a_scope_naming_admin():
    def scoped(*scopes, **kw):
        return principal({ALICE_NS.id: "admin"}, scopes=tuple(scopes), **kw)

    for actions in ({"pull"}, {"push"}, {"pull", "push"}, {"pull", "push", "delete"}, {"*"}):
        token = scoped(TokenScope("alice/*", frozenset(actions)))
        assert not policy.may_administer(token, repo()), actions
        assert policy.may_see(token, repo())
    named = scoped(TokenScope("alice/app", frozenset({"admin"})))
    assert policy.may_administer(named, repo())
    assert policy.may_see(named, repo())  # admin alone reveals the repository it administers
    assert policy.allowed_actions(named, repo()) == set()  # ... but no registry action
    assert not policy.may_administer(named, repo(11, name="other"))
    assert not policy.may_see(named, repo(11, name="other"))
    # the scope names admin, the role must still be admin
    writer = principal(
        repositories={10: "write"}, uid=5, scopes=(TokenScope("*", frozenset({"admin", "*"})),)
    )
    assert not policy.may_administer(writer, repo())
    site_admin = principal(admin=True, uid=6, scopes=(TokenScope("*", frozenset({"*"})),))
    assert not policy.may_administer(site_admin, repo())
    assert policy.may_administer(principal(admin=True, uid=6), repo())
    assert policy.scope_names_admin(OWNER, "any/thing")  # unscoped: a password or a session


def test_admin_is_never_a_registry_action():
    repos = {"alice/app": repo()}
    token = principal({ALICE_NS.id: "admin"}, scopes=(TokenScope("alice/*", frozenset({"admin"})),))
    asked = (Scope("repository", "alice/app", frozenset({"*"})),)
    assert policy.grant(token, asked, repos.get) == ()
    assert policy.scope_actions(token, "alice/app") == set()


def test_a_missing_repository_is_pullable_by_its_namespace_insiders_only():
    asked = (
        Scope("repository", "alice/missing", frozenset({"pull", "push", "delete"})),
        Scope("repository", "acme/missing", frozenset({"pull", "push", "delete"})),
    )
    namespaces = {"alice/missing": ALICE_NS, "acme/missing": ACME_NS}
    nothing = {}.get

    def granted(who):
        return {s.name: s.actions for s in policy.grant(who, asked, nothing, namespaces.get)}

    assert granted(OWNER) == {"alice/missing": {"pull", "delete"}}  # push allocates first
    assert granted(principal({ACME_NS.id: "write"}, uid=3)) == {"acme/missing": {"pull"}}
    assert granted(principal({ACME_NS.id: "read"}, uid=3)) == {"acme/missing": {"pull"}}
    assert granted(principal(admin=True, uid=4)) == {
        "alice/missing": {"pull", "delete"},
        "acme/missing": {"pull", "delete"},
    }
    assert granted(ANONYMOUS) == {}
    assert granted(STRANGER) == {}
    assert granted(principal(repositories={10: "admin"}, uid=5)) == {}  # a collaborator
    pull_token = principal(
        {ALICE_NS.id: "admin"}, scopes=(TokenScope("alice/*", frozenset({"pull"})),)
    )
    assert granted(pull_token) == {"alice/missing": {"pull"}}
    assert policy.grant(OWNER, asked, nothing) == ()  # no namespace known: nothing


def test_a_route_withholds_push_at_registries_it_does_not_name():
    """Signed-in callers get no push outside the route (refused, naming the route); pulls and
    deletes stay; anonymous callers, who may not push anyway, are never told the route."""
    routed = {"alice": ("alpha", "gamma")}
    beta = policy.RegistryRules("beta", "sponsor", routes=routed)
    alpha = policy.RegistryRules("alpha", "sponsor", routes=routed)
    push = Scope("repository", "alice/app", frozenset({"pull", "push"}))
    verdict = policy.registry_actions(beta, OWNER, push, repo())
    assert verdict == policy.Verdict(
        frozenset({"pull"}), "alice/app: pushes of alice go to alpha, gamma, not beta"
    )
    assert policy.kind_refusal(beta, OWNER, [push]) == verdict.reason
    assert policy.registry_actions(alpha, OWNER, push, repo()).actions == {"pull", "push"}
    assert policy.kind_refusal(alpha, OWNER, [push]) is None
    delete = Scope("repository", "alice/app", frozenset({"delete"}))
    assert policy.registry_actions(beta, OWNER, delete, repo()).actions == {"delete"}
    public = repo(visibility="public")
    anonymous = policy.registry_actions(beta, ANONYMOUS, push, public)
    assert anonymous == policy.Verdict(frozenset({"pull"}))
    assert policy.kind_refusal(beta, ANONYMOUS, [push]) is None
    other = Scope("repository", "bob/app", frozenset({"push"}))
    assert policy.kind_ceiling(beta, OWNER, other).actions == policy.ALL_ACTIONS
