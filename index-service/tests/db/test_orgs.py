"""Organisations, members, teams (roles on all or chosen repositories)."""

from __future__ import annotations

import pytest
from wharf_index.domain import errors, policy
from wharf_index.domain.model import ANONYMOUS, SYSTEM, Principal
from wharf_index.services import authentication, orgs, repositories

from tests.conftest import PASSWORD


def login(uow, name):
    return authentication.authenticate(uow, name, PASSWORD)


@pytest.fixture
def acme(uow, make_user):
    for name in ("alice", "bob", "carol"):
        make_user(name)
    orgs.create_org(uow, "acme", owner="alice")
    repositories.create_repository(uow, SYSTEM, "acme/app")
    repositories.create_repository(uow, SYSTEM, "acme/db")
    return "acme"


def actions(uow, who, name):
    with uow:
        repository = uow.repositories.get(name)
    return policy.allowed_actions(login(uow, who), repository)


def test_owner_administers_everything(uow, acme):
    assert actions(uow, "alice", "acme/app") == {"pull", "push", "delete"}
    assert [m.username for m in orgs.list_members(uow, "acme")] == ["alice"]


def test_org_names_share_the_namespace_space(uow, acme):
    with pytest.raises(errors.UsernameTaken):
        orgs.create_org(uow, "bob", owner="alice")
    with pytest.raises(errors.ReservedName):
        orgs.create_org(uow, "root", owner="alice")


def test_only_owners_manage_the_org(uow, acme):
    bob = login(uow, "bob")
    with pytest.raises(errors.PermissionDenied):
        orgs.create_team(uow, "acme", "devs", "write", actor=bob)
    with pytest.raises(errors.PermissionDenied):
        orgs.add_member(uow, "acme", "bob", actor=bob)
    with pytest.raises(errors.PermissionDenied):
        orgs.create_org(uow, "bobco", owner="alice", actor=bob)
    orgs.create_org(uow, "bobco", owner="bob", actor=bob)


def test_team_on_all_repositories(uow, acme):
    orgs.create_team(uow, "acme", "readers", "read", all_repositories=True)
    orgs.add_team_member(uow, "acme", "readers", "bob")
    assert actions(uow, "bob", "acme/app") == {"pull"}
    assert actions(uow, "bob", "acme/db") == {"pull"}
    assert not policy.may_create_repository(login(uow, "bob"), uow_namespace(uow, "acme"))
    orgs.update_team(uow, "acme", "readers", role="write")
    assert actions(uow, "bob", "acme/app") == {"pull", "push"}
    assert policy.may_create_repository(login(uow, "bob"), uow_namespace(uow, "acme"))


def uow_namespace(uow, name):
    with uow:
        return uow.namespaces.get(name)


def test_team_on_chosen_repositories(uow, acme):
    orgs.create_team(uow, "acme", "app-devs", "write")
    orgs.add_team_member(uow, "acme", "app-devs", "bob")
    assert actions(uow, "bob", "acme/app") == set()
    orgs.grant_repository(uow, "acme", "app-devs", "acme/app")
    assert actions(uow, "bob", "acme/app") == {"pull", "push"}
    assert actions(uow, "bob", "acme/db") == set()
    assert orgs.team_repositories(uow, "acme", "app-devs") == ["acme/app"]
    orgs.grant_repository(uow, "acme", "app-devs", "acme/app", grant=False)
    assert actions(uow, "bob", "acme/app") == set()


def test_team_grants_only_org_repositories(uow, acme):
    repositories.create_repository(uow, SYSTEM, "carol/own")
    orgs.create_team(uow, "acme", "devs", "admin")
    with pytest.raises(errors.RepositoryNotFound):
        orgs.grant_repository(uow, "acme", "devs", "carol/own")


def test_removing_a_member_removes_team_access(uow, acme):
    orgs.create_team(uow, "acme", "all", "admin", all_repositories=True)
    orgs.add_team_member(uow, "acme", "all", "bob")
    assert actions(uow, "bob", "acme/db") == {"pull", "push", "delete"}
    orgs.remove_member(uow, "acme", "bob")
    assert actions(uow, "bob", "acme/db") == set()
    assert orgs.team_members(uow, "acme", "all") == []


def test_last_owner_stays(uow, acme):
    with pytest.raises(errors.StateConflict, match="last owner"):
        orgs.remove_member(uow, "acme", "alice")
    orgs.add_member(uow, "acme", "bob", owner=True)
    orgs.remove_member(uow, "acme", "alice")
    assert actions(uow, "bob", "acme/app") == {"pull", "push", "delete"}


def test_team_rules(uow, acme):
    orgs.create_team(uow, "acme", "devs", "read")
    with pytest.raises(errors.TeamExists):
        orgs.create_team(uow, "acme", "devs", "write")
    with pytest.raises(errors.RoleInvalid):
        orgs.create_team(uow, "acme", "ops", "owner")
    with pytest.raises(errors.TeamNotFound):
        orgs.add_team_member(uow, "acme", "nope", "bob")
    with pytest.raises(errors.OrganisationNotFound):
        orgs.create_team(uow, "nope", "devs", "read")
    orgs.delete_team(uow, "acme", "devs")
    assert orgs.list_teams(uow, "acme") == []


def test_org_admin_principal_can_act(uow, acme):
    alice = login(uow, "alice")
    orgs.create_team(uow, "acme", "devs", "read", actor=alice)
    orgs.add_team_member(uow, "acme", "devs", "carol", actor=alice)
    assert [m.username for m in orgs.list_members(uow, "acme")] == ["alice", "carol"]
    assert isinstance(alice, Principal)


def test_who_sees_members_and_memberships(uow, acme):
    alice, bob, carol = (login(uow, name) for name in ("alice", "bob", "carol"))
    orgs.create_org(uow, "beta", owner="carol")
    orgs.add_member(uow, "acme", "bob", actor=alice)
    admin = SYSTEM

    assert [m.username for m in orgs.visible_members(uow, "acme", bob)] == ["alice", "bob"]
    assert orgs.visible_members(uow, "acme", carol) is None
    assert orgs.visible_members(uow, "acme", ANONYMOUS) is None
    assert orgs.memberships(uow, "alice", alice) == ["acme"]
    assert orgs.memberships(uow, "alice", bob) == ["acme"]  # shared with bob
    assert orgs.memberships(uow, "carol", bob) == []  # beta is not bob's
    assert orgs.memberships(uow, "carol", admin) == ["beta"]
    assert orgs.memberships(uow, "alice", ANONYMOUS) == []
    orgs.owned_org(uow, "acme", alice)
    with pytest.raises(errors.PermissionDenied):
        orgs.owned_org(uow, "acme", bob)
    with pytest.raises(errors.OrganisationNotFound):
        orgs.owned_org(uow, "ghost", alice)
