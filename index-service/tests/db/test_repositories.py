"""Repositories: creation, visibility (private = invisible), collaborators, search,
deletion, and token-request authorisation with allocation (scenario B)."""

from __future__ import annotations

import pytest
from wharf_index.domain import errors
from wharf_index.domain.model import ANONYMOUS, SYSTEM
from wharf_index.services import authentication, principals, repositories
from wharf_index.services.access import authorize
from wharf_protocol.scopes import Scope, parse_scopes

from tests.conftest import PASSWORD


@pytest.fixture
def people(uow, make_user):
    make_user("alice")
    make_user("bob")
    return {n: authentication.authenticate(uow, n, PASSWORD) for n in ("alice", "bob")}


def test_create_uses_the_namespace_default_visibility(uow, people):
    alice = people["alice"]
    assert repositories.create_repository(uow, alice, "alice/app").visibility == "private"
    repositories.set_namespace_visibility(uow, alice, "alice", "public")
    created = repositories.create_repository(uow, alice, "alice/web", description="site")
    assert (created.visibility, created.description) == ("public", "site")
    assert created.full_name == "alice/web"
    nested = repositories.create_repository(uow, alice, "alice/tools/cli", visibility="private")
    assert (nested.namespace, nested.name) == ("alice", "tools/cli")


def test_create_rules(uow, people):
    alice = people["alice"]
    repositories.create_repository(uow, alice, "alice/app")
    with pytest.raises(errors.RepositoryExists):
        repositories.create_repository(uow, alice, "alice/app")
    with pytest.raises(errors.PermissionDenied):
        repositories.create_repository(uow, people["bob"], "alice/other")
    with pytest.raises(errors.NamespaceNotFound):
        repositories.create_repository(uow, alice, "ghost/app")
    for bad in (
        "alice",
        "Alice/app",
        "alice/app/",
        "alice/../x",
        "alice/app'; DROP TABLE users;--",
    ):
        with pytest.raises(errors.NameInvalid):
            repositories.create_repository(uow, alice, bad)
    with pytest.raises(errors.VisibilityInvalid):
        repositories.create_repository(uow, alice, "alice/x", visibility="hidden")


def test_private_repositories_look_exactly_like_missing_ones(uow, people):
    repositories.create_repository(uow, people["alice"], "alice/secret")
    for outsider in (people["bob"], ANONYMOUS):
        with pytest.raises(errors.RepositoryNotFound) as hidden:
            repositories.get_repository(uow, outsider, "alice/secret")
        with pytest.raises(errors.RepositoryNotFound) as missing:
            repositories.get_repository(uow, outsider, "alice/nothing-here")
        assert str(hidden.value).replace("secret", "X") == str(missing.value).replace(
            "nothing-here", "X"
        )
        with pytest.raises(errors.RepositoryNotFound):
            repositories.set_visibility(uow, outsider, "alice/secret", "public")
        with pytest.raises(errors.RepositoryNotFound):
            repositories.mark_deleting(uow, outsider, "alice/secret")
        assert repositories.list_repositories(uow, outsider, query="secret") == []


def test_collaborators(uow, people):
    alice, bob = people["alice"], people["bob"]
    repositories.create_repository(uow, alice, "alice/app")
    repositories.set_collaborator(uow, alice, "alice/app", "bob", "read")
    bob = principals.principal_for(uow, bob.user)
    assert repositories.get_repository(uow, bob, "alice/app").full_name == "alice/app"
    with pytest.raises(errors.PermissionDenied):
        repositories.set_description(uow, bob, "alice/app", "bob was here")
    with pytest.raises(errors.PermissionDenied):
        repositories.set_collaborator(uow, bob, "alice/app", "bob", "admin")
    repositories.set_collaborator(uow, alice, "alice/app", "bob", "write")
    bob = principals.principal_for(uow, bob.user)
    with pytest.raises(errors.PermissionDenied):  # the description is administration
        repositories.set_description(uow, bob, "alice/app", "bob was here")
    repositories.set_collaborator(uow, alice, "alice/app", "bob", "admin")
    bob = principals.principal_for(uow, bob.user)
    assert repositories.set_description(uow, bob, "alice/app", "ok").description == "ok"
    assert [
        (c.username, c.role) for c in repositories.list_collaborators(uow, alice, "alice/app")
    ] == [("bob", "admin")]
    repositories.remove_collaborator(uow, alice, "alice/app", "bob")
    bob = principals.principal_for(uow, bob.user)
    with pytest.raises(errors.RepositoryNotFound):
        repositories.get_repository(uow, bob, "alice/app")
    with pytest.raises(errors.RoleInvalid):
        repositories.set_collaborator(uow, alice, "alice/app", "bob", "owner")


def test_list_and_search_respect_visibility(uow, people):
    alice = people["alice"]
    repositories.create_repository(
        uow, alice, "alice/api-server", visibility="public", description="REST server"
    )
    repositories.create_repository(uow, alice, "alice/private-server")
    repositories.create_repository(uow, alice, "alice/web", visibility="public")
    names = lambda found: [r.full_name for r in found]  # noqa: E731 - a tiny local helper
    assert names(repositories.list_repositories(uow, ANONYMOUS, query="server")) == [
        "alice/api-server"
    ]
    assert names(repositories.list_repositories(uow, alice, query="SERVER")) == [
        "alice/api-server",
        "alice/private-server",
    ]
    assert names(repositories.list_repositories(uow, ANONYMOUS, query="rest")) == [
        "alice/api-server"
    ]
    page = repositories.list_repositories(uow, alice, namespace="alice", limit=2)
    assert names(page) == ["alice/api-server", "alice/private-server"]
    assert names(repositories.list_repositories(uow, alice, after=page[-1].full_name)) == [
        "alice/web"
    ]


@pytest.mark.parametrize(
    "attack",
    [
        "%",
        "_",
        "\\",
        "' OR '1'='1",
        "'; DROP TABLE repositories; --",
        "%' OR visibility='private' --",
        "server%",
    ],
)
def test_search_and_cursors_are_injection_proof(uow, people, attack):
    repositories.create_repository(uow, people["alice"], "alice/hidden-server")
    repositories.create_repository(uow, people["alice"], "alice/pub", visibility="public")
    assert repositories.list_repositories(uow, ANONYMOUS, query=attack) == []
    found = repositories.list_repositories(uow, ANONYMOUS, after=attack)
    assert all(r.visibility == "public" for r in found)
    with uow:
        assert uow.repositories.find("alice/hidden-server") is not None


def test_delete_flow(uow, people):
    alice = people["alice"]
    repositories.create_repository(uow, alice, "alice/app", visibility="public")
    with pytest.raises(errors.PermissionDenied):
        repositories.mark_deleting(uow, people["bob"], "alice/app")
    assert repositories.mark_deleting(uow, alice, "alice/app").status == "deleting"
    assert repositories.list_repositories(uow, alice) == []
    assert repositories.delete_repository(uow, "alice/app") is True
    assert repositories.delete_repository(uow, "alice/app") is False


def test_authorize_allocates_on_push_in_own_namespace(uow, people):
    requested = parse_scopes(["repository:alice/new:pull,push"])
    granted = authorize(uow, people["alice"], requested)
    assert granted == (Scope("repository", "alice/new", frozenset({"pull", "push"})),)
    with uow:
        assert uow.repositories.get("alice/new").visibility == "private"


def test_authorize_never_allocates_elsewhere_and_never_fails(uow, people):
    requested = parse_scopes(
        ["repository:alice/theirs:pull,push", "repository:ghost/x:push", "repository:bob/mine:push"]
    )
    granted = authorize(uow, people["bob"], requested)
    assert granted == (Scope("repository", "bob/mine", frozenset({"push"})),)
    with uow:
        assert uow.repositories.find("alice/theirs") is None
        assert uow.repositories.find("ghost/x") is None
    assert authorize(uow, ANONYMOUS, parse_scopes(["repository:bob/new:push"])) == ()


def test_authorize_anonymous_pull_public_only(uow, people):
    repositories.create_repository(uow, people["alice"], "alice/pub", visibility="public")
    repositories.create_repository(uow, people["alice"], "alice/priv")
    requested = parse_scopes(["repository:alice/pub:pull,push", "repository:alice/priv:pull"])
    assert authorize(uow, ANONYMOUS, requested) == (
        Scope("repository", "alice/pub", frozenset({"pull"})),
    )
    assert authorize(uow, SYSTEM, requested) == (
        Scope("repository", "alice/pub", frozenset({"pull", "push"})),
        Scope("repository", "alice/priv", frozenset({"pull"})),
    )
