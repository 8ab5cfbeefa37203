"""Organisation pages, over services/orgs.py and services/access_tokens.py as the API:

- ``GET /orgs/<org>``: the repositories the visitor may see; members and teams for the
  organisation's members and administrators only (``GET /api/v1/orgs/<org>/members``).
- ``GET|POST /orgs/new``: create an organisation the signed-in user owns.
- ``/orgs/<org>/-/members``, ``/-/teams``, ``/-/robots``: the owners' pages. Anyone else
  gets what the API answers a non-owner: 403 (an unknown organisation: 404).

A robot's credential is in the answer to its creation only (never stored in clear, never
in a redirect or the session).
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from ..api.errors import to_api_error
from ..context import uow
from ..domain import errors
from ..domain.model import ROLES, TOKEN_ACTIONS
from ..services import access_tokens, explore, orgs, repositories
from . import bp
from .session import check_form, principal

LISTED = 100
# The forms whose input comes back when refused (the others' fields are hidden ones).
KEEPS_INPUT = {"web.org_add_member", "web.org_create_team", "web.org_create_robot"}


def _signed_in():
    """The signed-in principal, or a redirect to the sign-in page (None, response)."""
    viewer = principal()
    if viewer.user is None:
        return None, redirect(url_for("web.signin_form", next=request.full_path), 303)
    return viewer, None


def _field(name: str, limit: int = 255) -> str:
    value = request.form.get(name, "").strip()
    if len(value) > limit or "\x00" in value:
        raise errors.ValueInvalid(name, f"{name} is at most {limit} characters")
    return value


def _failure(exc: errors.IndexError_) -> tuple[str, int]:
    error = to_api_error(exc)
    return error.message, error.status


@bp.get("/orgs/<org>")
def org_page(org: str):
    viewer = principal()
    found = orgs.get_org(uow(), org)
    repos = repositories.list_repositories(uow(), viewer, namespace=org, limit=LISTED + 1)
    members = orgs.visible_members(uow(), org, viewer)
    teams = orgs.list_teams(uow(), org) if members is not None else None
    owner = viewer.user is not None and _owns(org, viewer)
    return render_template(
        "org.html",
        org=found,
        rows=explore.listed(uow(), repos[:LISTED]),
        more=len(repos) > LISTED,
        members=members,
        teams=teams,
        owner=owner,
    )


def _owns(org: str, viewer) -> bool:
    try:
        orgs.owned_org(uow(), org, viewer)
    except errors.PermissionDenied:
        return False
    return True


# -- creating ---------------------------------------------------------------------------


@bp.get("/orgs/new")
def org_new_form():
    _, away = _signed_in()
    return away or render_template("org_new.html", name="", email="", error=None)


@bp.post("/orgs/new")
def org_new():
    check_form()
    viewer, away = _signed_in()
    if away:
        return away
    name, email = request.form.get("name", "").strip(), request.form.get("email", "").strip()
    try:
        orgs.create_org(
            uow(),
            _field("name"),
            owner=viewer.user.username,
            email=_field("email") or None,
            actor=viewer,
        )
    except (errors.Invalid, errors.Conflict, errors.PermissionDenied) as exc:
        message, status = _failure(exc)
        page = render_template("org_new.html", name=name, email=email, error=message)
        return page, status
    return redirect(url_for("web.org_page", org=name), 303)


# -- the owners' pages ------------------------------------------------------------------


def _owner(org: str):
    """(principal, None) for an owner of ``org``; (None, redirect) for a visitor; raises
    PermissionDenied (403) for others and OrganisationNotFound (404) for unknown names."""
    viewer, away = _signed_in()
    if away:
        return None, away
    orgs.owned_org(uow(), org, viewer)
    return viewer, None


def _act(org: str, page: str, action) -> object:
    """Run an owner's ``action`` (a form POST), then back to ``page`` (303), or to where
    the action answers; a refused change re-renders ``page`` with the message and its
    status."""
    check_form()
    viewer, away = _owner(org)
    if away:
        return away
    try:
        target = action(viewer)
    except (errors.Invalid, errors.Conflict, errors.NotFound, errors.PermissionDenied) as exc:
        message, status = _failure(exc)
        kept = request.form if request.endpoint in KEEPS_INPUT else {}
        return _render(page, org, viewer, error=message, form=kept), status
    return redirect(target or url_for(f"web.org_{page}", org=org), 303)


def _render(page: str, org: str, viewer, **extra):
    found = orgs.get_org(uow(), org)
    context = {"org": found, "error": None, "form": {}, **extra}
    if page == "members":
        context["members"] = orgs.list_members(uow(), org)
    elif page == "teams":
        teams = orgs.list_teams(uow(), org)
        context["teams"] = [
            (
                team,
                orgs.team_members(uow(), org, team.name),
                orgs.team_repositories(uow(), org, team.name),
            )
            for team in teams
        ]
        context["repositories"] = repositories.list_repositories(
            uow(), viewer, namespace=org, limit=1000
        )
        context["roles"] = ROLES
    elif page == "robots":
        context["robots"] = access_tokens.list_robots(uow(), viewer, org)
        context["actions"] = TOKEN_ACTIONS
    return render_template(f"org_{page}.html", **context)


@bp.get("/orgs/<org>/-/members")
def org_members(org: str):
    viewer, away = _owner(org)
    return away or _render("members", org, viewer)


@bp.post("/orgs/<org>/-/members")
def org_add_member(org: str):
    def add(viewer):
        owner = request.form.get("owner") == "yes"
        orgs.add_member(uow(), org, _field("username"), owner=owner, actor=viewer)

    return _act(org, "members", add)


@bp.post("/orgs/<org>/-/members/remove")
def org_remove_member(org: str):
    def remove(viewer):
        username = _field("username")
        orgs.remove_member(uow(), org, username, actor=viewer)
        if username == viewer.user.username:  # left: the owners' pages are closed now
            return url_for("web.org_page", org=org)
        return None

    return _act(org, "members", remove)


@bp.get("/orgs/<org>/-/teams")
def org_teams(org: str):
    viewer, away = _owner(org)
    return away or _render("teams", org, viewer)


@bp.post("/orgs/<org>/-/teams")
def org_create_team(org: str):
    def create(viewer):
        orgs.create_team(
            uow(),
            org,
            _field("name"),
            _field("role"),
            all_repositories=request.form.get("all_repositories") == "yes",
            description=_field("description", 1000),
            actor=viewer,
        )

    return _act(org, "teams", create)


@bp.post("/orgs/<org>/-/teams/<team>/members")
def org_team_add_member(org: str, team: str):
    def add(viewer):
        orgs.add_team_member(uow(), org, team, _field("username"), actor=viewer)

    return _act(org, "teams", add)


@bp.post("/orgs/<org>/-/teams/<team>/members/remove")
def org_team_remove_member(org: str, team: str):
    def remove(viewer):
        orgs.remove_team_member(uow(), org, team, _field("username"), actor=viewer)

    return _act(org, "teams", remove)


@bp.post("/orgs/<org>/-/teams/<team>/repositories")
def org_team_grant(org: str, team: str):
    def grant(viewer):
        orgs.grant_repository(uow(), org, team, _field("repository"), actor=viewer)

    return _act(org, "teams", grant)


@bp.post("/orgs/<org>/-/teams/<team>/repositories/revoke")
def org_team_revoke(org: str, team: str):
    def revoke(viewer):
        orgs.grant_repository(uow(), org, team, _field("repository"), grant=False, actor=viewer)

    return _act(org, "teams", revoke)


@bp.post("/orgs/<org>/-/teams/<team>/delete")
def org_team_delete(org: str, team: str):
    return _act(org, "teams", lambda viewer: orgs.delete_team(uow(), org, team, actor=viewer))


@bp.get("/orgs/<org>/-/robots")
def org_robots(org: str):
    viewer, away = _owner(org)
    return away or _render("robots", org, viewer)


@bp.post("/orgs/<org>/-/robots")
def org_create_robot(org: str):
    """Create a robot; the answer (not a redirect) shows its credential, once."""
    check_form()
    viewer, away = _owner(org)
    if away:
        return away
    actions = [a for a in request.form.getlist("actions") if a in TOKEN_ACTIONS]
    days = request.form.get("expires_in_days", "").strip()
    try:
        if days and not days.isdigit():
            raise errors.ValueInvalid("expires_in_days", "expiry is a number of days")
        pattern = _field("repository") or f"{org}/*"
        robot, secret = access_tokens.create_robot(
            uow(),
            viewer,
            org,
            _field("name"),
            [{"repository": pattern, "actions": actions}],
            expires_in_days=int(days) if days else None,
        )
    except (errors.Invalid, errors.Conflict, errors.PermissionDenied) as exc:
        message, status = _failure(exc)
        return _render("robots", org, viewer, error=message, form=request.form), status
    return _render("robots", org, viewer, created=robot, secret=secret), 201


@bp.post("/orgs/<org>/-/robots/delete")
def org_delete_robot(org: str):
    def delete(viewer):
        robot = _field("robot")
        if not robot.startswith(f"{org}+"):  # only this organisation's robots here
            raise errors.UserNotFound(robot)
        access_tokens.delete_robot(uow(), viewer, robot)

    return _act(org, "robots", delete)
