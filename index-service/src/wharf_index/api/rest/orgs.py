"""Organisations, their members, teams, team members and team repository grants.

Reading: organisations are public (name, creation time); members and teams are shown to
the organisation's members and administrators. Writing: organisation owners (services
decide; 403 DENIED otherwise). A grant gives a team its role on one of the organisation's
repositories.
"""

from __future__ import annotations

from ...context import uow
from ...domain import errors
from ...domain.model import Principal
from ...services import orgs, quotas
from ...services.paging import take
from . import bp
from .auth import principal, require_account
from .inputs import load
from .openapi import doc
from .pagination import page_body, page_request, paged_list
from .schemas import (
    MemberIn,
    MemberSchema,
    NameSchema,
    OrgCreateIn,
    OrgDetailSchema,
    OrgSchema,
    TeamCreateIn,
    TeamSchema,
    TeamUpdateIn,
)


def _members_only(org: str) -> Principal:
    """Return the caller if they are a member of ``org`` or an administrator; else 403."""
    caller = principal()
    members = orgs.list_members(uow(), org)
    if not caller.is_admin and not any(
        caller.user is not None and m.user_id == caller.user.id for m in members
    ):
        raise errors.PermissionDenied(f"only members of {org} may see this")
    return caller


def _names(values: list[str]) -> list[dict]:
    return NameSchema(many=True).dump([{"name": v} for v in values])


@bp.get("/orgs")
@doc(auth="optional", response=OrgSchema, paginated=True)
def list_orgs():
    """List organisations by name."""
    wanted = page_request("orgs", (str,))
    rows = orgs.list_orgs(
        uow(), after=wanted.after[0] if wanted.after else None, limit=wanted.limit + 1
    )
    page = take(rows, wanted.limit, lambda o: (o.name,))
    return page_body("orgs", page, OrgSchema(many=True).dump(page.items))


@bp.post("/orgs")
@doc(
    auth="account",
    body=OrgCreateIn,
    response=OrgSchema,
    status=201,
    errors=(404, 409),
    links={"org": "name"},
)
def create_org():
    """Create an organisation owned by the caller (admins may name another ``owner``)."""
    caller = require_account()
    data = load(OrgCreateIn)
    org = orgs.create_org(
        uow(),
        data["name"],
        owner=data.get("owner", caller.user.username),
        email=data.get("email"),
        actor=caller,
    )
    return OrgSchema().dump(org), 201


@bp.get("/orgs/<org>")
@doc(auth="optional", response=OrgDetailSchema)
def get_org(org: str):
    """Return an organisation (with its storage quota for its owners and administrators)."""
    found = orgs.get_org(uow(), org)
    quota = quotas.visible_quota(uow(), principal(), org)
    return OrgDetailSchema().dump(
        {
            "name": found.name,
            "created_at": found.created_at,
            "quota": None if quota is None else vars(quota),
        }
    )


@bp.get("/orgs/<org>/members")
@doc(auth="user", response=MemberSchema, paginated=True)
def list_members(org: str):
    """List members and owners (members of the organisation and admins)."""
    _members_only(org)
    return paged_list(
        "members",
        (str,),
        orgs.list_members(uow(), org),
        lambda m: (m.username,),
        MemberSchema(many=True).dump,
    )


@bp.put("/orgs/<org>/members/<username>")
@doc(auth="account", body=MemberIn, status=204)
def put_member(org: str, username: str):
    """Add a member, or make one an owner with ``{"owner": true}`` (owners)."""
    data = load(MemberIn)
    orgs.add_member(uow(), org, username, owner=data["owner"], actor=require_account())
    return "", 204


@bp.delete("/orgs/<org>/members/<username>")
@doc(auth="account", status=204, errors=(409,))
def delete_member(org: str, username: str):
    """Remove a member from the organisation and its teams (owners)."""
    orgs.remove_member(uow(), org, username, actor=require_account())
    return "", 204


@bp.get("/orgs/<org>/teams")
@doc(auth="user", response=TeamSchema, paginated=True)
def list_teams(org: str):
    """List the organisation's teams (members and admins)."""
    _members_only(org)
    return paged_list(
        "teams",
        (str,),
        orgs.list_teams(uow(), org),
        lambda t: (t.name,),
        TeamSchema(many=True).dump,
    )


@bp.post("/orgs/<org>/teams")
@doc(
    auth="account",
    body=TeamCreateIn,
    response=TeamSchema,
    status=201,
    errors=(409,),
    links={"team": "name"},
)
def create_team(org: str):
    """Create a team with a role on chosen or all repositories (owners)."""
    caller = require_account()
    data = load(TeamCreateIn)
    team = orgs.create_team(
        uow(),
        org,
        data["name"],
        data["role"],
        all_repositories=data["all_repositories"],
        description=data["description"],
        actor=caller,
    )
    return TeamSchema().dump(team), 201


@bp.get("/orgs/<org>/teams/<team>")
@doc(auth="user", response=TeamSchema)
def get_team(org: str, team: str):
    """Return a team (members and admins)."""
    _members_only(org)
    found = next((t for t in orgs.list_teams(uow(), org) if t.name == team), None)
    if found is None:
        raise errors.TeamNotFound(team)
    return TeamSchema().dump(found)


@bp.patch("/orgs/<org>/teams/<team>")
@doc(auth="account", body=TeamUpdateIn, response=TeamSchema)
def update_team(org: str, team: str):
    """Change a team's role and/or all-repositories flag (owners)."""
    caller = require_account()
    data = load(TeamUpdateIn)
    updated = orgs.update_team(
        uow(),
        org,
        team,
        role=data.get("role"),
        all_repositories=data.get("all_repositories"),
        actor=caller,
    )
    return TeamSchema().dump(updated)


@bp.delete("/orgs/<org>/teams/<team>")
@doc(auth="account", status=204)
def delete_team(org: str, team: str):
    """Delete a team (owners)."""
    orgs.delete_team(uow(), org, team, actor=require_account())
    return "", 204


@bp.get("/orgs/<org>/teams/<team>/members")
@doc(auth="user", response=NameSchema, paginated=True)
def list_team_members(org: str, team: str):
    """List a team's members by name (members and admins)."""
    _members_only(org)
    return paged_list(
        "team-members", (str,), orgs.team_members(uow(), org, team), lambda n: (n,), _names
    )


@bp.put("/orgs/<org>/teams/<team>/members/<username>")
@doc(auth="account", status=204)
def put_team_member(org: str, team: str, username: str):
    """Add a user to a team (and to the organisation) (owners)."""
    orgs.add_team_member(uow(), org, team, username, actor=require_account())
    return "", 204


@bp.delete("/orgs/<org>/teams/<team>/members/<username>")
@doc(auth="account", status=204)
def delete_team_member(org: str, team: str, username: str):
    """Remove a user from a team (owners)."""
    orgs.remove_team_member(uow(), org, team, username, actor=require_account())
    return "", 204


@bp.get("/orgs/<org>/teams/<team>/repositories")
@doc(auth="user", response=NameSchema, paginated=True)
def list_team_repositories(org: str, team: str):
    """List the repositories granted to a team (members and admins)."""
    _members_only(org)
    return paged_list(
        "team-repositories",
        (str,),
        orgs.team_repositories(uow(), org, team),
        lambda n: (n,),
        _names,
    )


@bp.put("/orgs/<org>/teams/<team>/repositories/<api_repo:repository>")
@doc(auth="account", status=204)
def grant_repository(org: str, team: str, repository: str):
    """Grant the team its role on one of the organisation's repositories (owners)."""
    orgs.grant_repository(uow(), org, team, repository, actor=require_account())
    return "", 204


@bp.delete("/orgs/<org>/teams/<team>/repositories/<api_repo:repository>")
@doc(auth="account", status=204)
def revoke_repository(org: str, team: str, repository: str):
    """Take the team's grant on a repository back (owners)."""
    orgs.grant_repository(uow(), org, team, repository, grant=False, actor=require_account())
    return "", 204
