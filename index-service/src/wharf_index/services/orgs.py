"""Organisations: create, members and owners, teams with roles and repository grants.

Owners administer the organisation (members, teams, every repository). A team gives its
members its role (read, write, admin) on the repositories granted to it, or on all of the
organisation's repositories when ``all_repositories`` is set. Team members are always
organisation members (adding to a team adds to the organisation).
"""

from __future__ import annotations

from ..domain import errors
from ..domain.model import ROLES, SYSTEM, Organisation, OrgMember, Principal, Team
from ..domain.names import check_namespace_name, check_short_name
from ..domain.policy import may_administer_namespace
from . import audit
from .accounts import check_email
from .unit_of_work import UnitOfWork


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise errors.RoleInvalid(role)
    return role


def _owned_org(uow: UnitOfWork, name: str, actor: Principal) -> Organisation:
    org = uow.orgs.get(name)
    if not may_administer_namespace(actor, uow.namespaces.by_id(org.namespace_id)):
        raise errors.PermissionDenied(f"only owners of {name} may do that")
    return org


def create_org(
    uow: UnitOfWork, name: str, *, owner: str, email: str | None = None, actor: Principal = SYSTEM
) -> Organisation:
    """Create an organisation (and its namespace) owned by user ``owner``.

    Non-administrators may only make themselves the owner. Raises NameInvalid,
    ReservedName, UsernameTaken (name held by a user or org), UserNotFound, PermissionDenied.
    """
    check_namespace_name(name, allow_admin_only=actor.is_admin)
    email = check_email(email) if email else None
    with uow:
        owner_user = uow.users.get(owner)
        if owner_user.is_robot:
            raise errors.StateConflict("owner", "a robot cannot own an organisation")
        if not actor.is_admin and (actor.user is None or actor.user.id != owner_user.id):
            raise errors.PermissionDenied("you may only create organisations you own")
        namespace = uow.namespaces.create(name, "org", uow.config.default_visibility)
        if namespace is None:
            raise errors.UsernameTaken(name)
        org = uow.orgs.create(namespace.id, email)
        uow.orgs.add_member(org.id, owner_user.id, is_owner=True)
        audit.record(
            uow,
            actor,
            "org.create",
            "org",
            name,
            namespace_id=namespace.id,
            detail={"owner": owner},
        )
        return org


def get_org(uow: UnitOfWork, name: str) -> Organisation:
    with uow:
        return uow.orgs.get(name)


def list_orgs(uow: UnitOfWork, *, after: str | None = None, limit: int = 100) -> list[Organisation]:
    """Organisations by name, keyset-paginated (``after`` = last name seen)."""
    with uow:
        return uow.orgs.list(after=after, limit=limit)


def list_members(uow: UnitOfWork, name: str) -> list[OrgMember]:
    with uow:
        return uow.orgs.members(uow.orgs.get(name).id)


def owned_org(uow: UnitOfWork, name: str, actor: Principal) -> Organisation:
    """Return the organisation if ``actor`` owns it (or administers the Index).

    Raises OrganisationNotFound, PermissionDenied (the rule every owners' change follows).
    """
    with uow:
        return _owned_org(uow, name, actor)


def visible_members(uow: UnitOfWork, name: str, viewer: Principal) -> list[OrgMember] | None:
    """The members of organisation ``name`` if ``viewer`` may see them (its members and
    administrators, as ``GET /api/v1/orgs/<org>/members``); None otherwise."""
    members = list_members(uow, name)
    if viewer.is_admin or any(
        viewer.user is not None and m.user_id == viewer.user.id for m in members
    ):
        return members
    return None


def memberships(uow: UnitOfWork, username: str, viewer: Principal) -> list[str]:
    """The organisations ``username`` belongs to that ``viewer`` may see the members of:
    all of them for the user themself and administrators, else those ``viewer`` is in."""
    with uow:
        user = uow.users.get(username)
        names = uow.orgs.names_of_member(user.id)
        if viewer.is_admin or (viewer.user is not None and viewer.user.id == user.id):
            return names
        if viewer.user is None or viewer.user.id <= 0:
            return []
        mine = set(uow.orgs.names_of_member(viewer.user.id))
    return [name for name in names if name in mine]


def add_member(
    uow: UnitOfWork, org_name: str, username: str, *, owner: bool = False, actor: Principal = SYSTEM
) -> None:
    """Add ``username`` to the organisation (as an owner with ``owner``); owners only."""
    with uow:
        org = _owned_org(uow, org_name, actor)
        user = uow.users.get(username)
        uow.orgs.add_member(org.id, user.id, is_owner=owner)
        if owner:
            uow.orgs.set_owner(org.id, user.id, True)
        audit.record(
            uow,
            actor,
            "org.add_member",
            "org",
            org_name,
            namespace_id=org.namespace_id,
            detail={"user": username, "owner": owner},
        )


def remove_member(
    uow: UnitOfWork, org_name: str, username: str, *, actor: Principal = SYSTEM
) -> None:
    """Remove a member (and from every team); the last owner cannot be removed."""
    with uow:
        org = _owned_org(uow, org_name, actor)
        user = uow.users.get(username)
        members = {m.user_id: m for m in uow.orgs.members(org.id)}
        if user.id in members and members[user.id].is_owner and uow.orgs.count_owners(org.id) == 1:
            raise errors.StateConflict("member", f"{username} is the last owner of {org_name}")
        if not uow.orgs.remove_member(org.id, user.id):
            raise errors.UserNotFound(username)
        audit.record(
            uow,
            actor,
            "org.remove_member",
            "org",
            org_name,
            namespace_id=org.namespace_id,
            detail={"user": username},
        )


def create_team(
    uow: UnitOfWork,
    org_name: str,
    team: str,
    role: str,
    *,
    all_repositories: bool = False,
    description: str = "",
    actor: Principal = SYSTEM,
) -> Team:
    """Create a team with ``role``; raises TeamExists, RoleInvalid, PermissionDenied."""
    check_short_name(team, "team name")
    _check_role(role)
    with uow:
        org = _owned_org(uow, org_name, actor)
        created = uow.orgs.create_team(
            org.id, team, role, all_repositories=all_repositories, description=description
        )
        if created is None:
            raise errors.TeamExists(f"{org_name}/{team}")
        audit.record(
            uow,
            actor,
            "team.create",
            "team",
            f"{org_name}/{team}",
            namespace_id=org.namespace_id,
            detail={"role": role, "all_repositories": all_repositories},
        )
        return created


def update_team(
    uow: UnitOfWork,
    org_name: str,
    team: str,
    *,
    role: str | None = None,
    all_repositories: bool | None = None,
    actor: Principal = SYSTEM,
) -> Team:
    """Change a team's role and/or its all-repositories flag."""
    with uow:
        org = _owned_org(uow, org_name, actor)
        current = uow.orgs.get_team(org.id, team)
        uow.orgs.update_team(
            current.id,
            role=_check_role(role) if role is not None else current.role,
            all_repositories=current.all_repositories
            if all_repositories is None
            else all_repositories,
        )
        audit.record(
            uow, actor, "team.update", "team", f"{org_name}/{team}", namespace_id=org.namespace_id
        )
        return uow.orgs.get_team(org.id, team)


def delete_team(uow: UnitOfWork, org_name: str, team: str, *, actor: Principal = SYSTEM) -> None:
    with uow:
        org = _owned_org(uow, org_name, actor)
        uow.orgs.delete_team(uow.orgs.get_team(org.id, team).id)
        audit.record(
            uow, actor, "team.delete", "team", f"{org_name}/{team}", namespace_id=org.namespace_id
        )


def list_teams(uow: UnitOfWork, org_name: str) -> list[Team]:
    with uow:
        return uow.orgs.teams(uow.orgs.get(org_name).id)


def team_members(uow: UnitOfWork, org_name: str, team: str) -> list[str]:
    with uow:
        org = uow.orgs.get(org_name)
        return uow.orgs.team_members(uow.orgs.get_team(org.id, team).id)


def add_team_member(
    uow: UnitOfWork, org_name: str, team: str, username: str, *, actor: Principal = SYSTEM
) -> None:
    """Add a user to a team (and to the organisation if needed)."""
    with uow:
        org = _owned_org(uow, org_name, actor)
        found = uow.orgs.get_team(org.id, team)
        user = uow.users.get(username)
        uow.orgs.add_member(org.id, user.id)
        uow.orgs.add_team_member(found.id, user.id)
        audit.record(
            uow,
            actor,
            "team.add_member",
            "team",
            f"{org_name}/{team}",
            namespace_id=org.namespace_id,
            detail={"user": username},
        )


def remove_team_member(
    uow: UnitOfWork, org_name: str, team: str, username: str, *, actor: Principal = SYSTEM
) -> None:
    with uow:
        org = _owned_org(uow, org_name, actor)
        found = uow.orgs.get_team(org.id, team)
        if not uow.orgs.remove_team_member(found.id, uow.users.get(username).id):
            raise errors.UserNotFound(username)
        audit.record(
            uow,
            actor,
            "team.remove_member",
            "team",
            f"{org_name}/{team}",
            namespace_id=org.namespace_id,
            detail={"user": username},
        )


def grant_repository(
    uow: UnitOfWork,
    org_name: str,
    team: str,
    repository: str,
    *,
    grant: bool = True,
    actor: Principal = SYSTEM,
) -> None:
    """Give (or with ``grant=False`` take back) a team's role on one org repository.

    ``repository`` is the full name and must belong to the organisation.
    """
    with uow:
        org = _owned_org(uow, org_name, actor)
        found = uow.orgs.get_team(org.id, team)
        repo = uow.repositories.find(repository)
        if repo is None or repo.namespace_id != org.namespace_id:
            raise errors.RepositoryNotFound(repository)
        if grant:
            uow.orgs.grant_repository(found.id, repo.id)
        else:
            uow.orgs.revoke_repository(found.id, repo.id)
        audit.record(
            uow,
            actor,
            "team.grant" if grant else "team.revoke",
            "team",
            f"{org_name}/{team}",
            namespace_id=org.namespace_id,
            repository_id=repo.id,
            detail={"repository": repository},
        )


def team_repositories(uow: UnitOfWork, org_name: str, team: str) -> list[str]:
    with uow:
        org = uow.orgs.get(org_name)
        return uow.orgs.team_repositories(uow.orgs.get_team(org.id, team).id)
