"""``/r/<name>/-/settings``: a repository's settings, for its administrators.

One page with one form per setting (visibility, description and README, collaborators, team
grants, immutable tag patterns, retention with its dry run, deleting a tag, deleting the
repository); each form posts to its own address and redirects back (post/redirect/get).
A refused change re-renders the page with the service's message next to that form.

Who may: the repository's administrators (policy.may_administer, as for the API).
Visitors who may not see the repository get "Not found", exactly as for a repository that
does not exist; those who see it without administering it get 403 "Not allowed".
Team grants are the organisation owners' to give (services/orgs.py decides).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from ..api.errors import to_api_error
from ..context import current, uow
from ..domain import errors
from ..domain.model import ROLES
from ..services import deletion, orgs, repositories, retention, tag_deletion, tag_rules, tags
from . import bp
from .session import check_form, principal

MAX_TAGS_LISTED = 500


def _signed_in():
    """The signed-in Principal, or None (the caller redirects to the sign-in page)."""
    found = principal()
    return found if found.user is not None else None


def _to_signin():
    return redirect(url_for("web.signin_form", next=request.full_path.rstrip("?")), 303)


def _back(name: str, anchor: str, message: str):
    flash(message, "done")
    return redirect(url_for("web.repository_settings", name=name) + f"#{anchor}", 303)


def _org_teams(name: str, namespace: str) -> list[dict] | None:
    """The teams of the owning organisation with whether each reaches the repository
    (None: the repository is a user's)."""
    try:
        teams = orgs.list_teams(uow(), namespace)
    except errors.NotFound:
        return None
    rows = []
    for team in teams:
        granted = team.all_repositories or name in orgs.team_repositories(
            uow(), namespace, team.name
        )
        rows.append({"team": team, "granted": granted})
    return rows


def _render(
    name: str,
    *,
    status: int = 200,
    section: str | None = None,
    message: str = "",
    form: dict | None = None,
):
    """The settings page; ``message`` (with ``status``) shown next to ``section``'s form,
    whose fields show ``form`` (the visitor's input) instead of the stored values."""
    caller = principal()
    rules = tag_rules.get_rules(uow(), caller, name)  # RepositoryNotFound / PermissionDenied
    repository = repositories.get_repository(uow(), caller, name)
    listed = tags.list_tags(uow(), caller, name, after=None, limit=MAX_TAGS_LISTED)
    body = render_template(
        "settings.html",
        repository=repository,
        readme=repositories.get_readme(uow(), caller, name),
        max_readme=repositories.MAX_README,
        name=name,
        rules=rules,
        preview=retention.preview(uow(), caller, name),
        collaborators=repositories.list_collaborators(uow(), caller, name),
        teams=_org_teams(name, repository.namespace),
        tags=[t.name for t in listed.items],
        more_tags=listed.next is not None,
        roles=ROLES,
        errors={section: message} if section else {},
        form=form or {},
    )
    return body, status


def _refused(name: str, section: str, exc: errors.IndexError_, form: dict | None = None):
    """Re-render the page with the service's message next to ``section``'s form."""
    if isinstance(exc, errors.RepositoryNotFound):
        raise exc
    error = to_api_error(exc)
    return _render(name, status=error.status, section=section, message=error.message, form=form)


@bp.get("/r/<api_repo:name>/-/settings")
def repository_settings(name: str):
    if _signed_in() is None:
        return _to_signin()
    return _render(name)


@bp.post("/r/<api_repo:name>/-/settings/general")
def settings_general(name: str):
    check_form()
    caller = _signed_in()
    if caller is None:
        return _to_signin()
    visibility = request.form.get("visibility", "")
    description = request.form.get("description", "").replace("\r\n", "\n")
    readme = request.form.get("readme", "").replace("\r\n", "\n")
    try:
        repository = repositories.get_repository(uow(), caller, name)
        repositories.update_repository(  # the changed ones, all or nothing
            uow(),
            caller,
            name,
            visibility=visibility if visibility != repository.visibility else None,
            description=description if description != repository.description else None,
            readme=readme if readme != repositories.get_readme(uow(), caller, name) else None,
        )
    except errors.IndexError_ as exc:
        form = {"visibility": visibility, "description": description, "readme": readme}
        return _refused(name, "general", exc, form)
    return _back(name, "general", "Visibility, description and README saved.")


@bp.post("/r/<api_repo:name>/-/settings/collaborators")
def settings_collaborator(name: str):
    check_form()
    caller = _signed_in()
    if caller is None:
        return _to_signin()
    username = request.form.get("username", "").strip()
    role = request.form.get("role", "")
    try:
        if not username:
            raise errors.FieldInvalid("username", "give a username")
        repositories.set_collaborator(uow(), caller, name, username, role)
    except errors.IndexError_ as exc:
        return _refused(name, "collaborators", exc, {"username": username, "role": role})
    return _back(name, "collaborators", f"{username} now has the {role} role.")


@bp.post("/r/<api_repo:name>/-/settings/collaborators/<username>/remove")
def settings_remove_collaborator(name: str, username: str):
    check_form()
    caller = _signed_in()
    if caller is None:
        return _to_signin()
    try:
        repositories.remove_collaborator(uow(), caller, name, username)
    except errors.IndexError_ as exc:
        return _refused(name, "collaborators", exc)
    return _back(name, "collaborators", f"{username} is no longer a collaborator.")


@bp.post("/r/<api_repo:name>/-/settings/teams/<team>")
def settings_team(name: str, team: str):
    check_form()
    caller = _signed_in()
    if caller is None:
        return _to_signin()
    grant = request.form.get("grant") == "yes"
    try:
        tag_rules.get_rules(uow(), caller, name)  # the repository's admins only, first
        orgs.grant_repository(uow(), name.split("/")[0], team, name, grant=grant, actor=caller)
    except errors.IndexError_ as exc:
        return _refused(name, "teams", exc)
    done = "now reaches" if grant else "no longer reaches"
    return _back(name, "teams", f"Team {team} {done} this repository.")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@bp.post("/r/<api_repo:name>/-/settings/immutable")
def settings_immutable(name: str):
    check_form()
    caller = _signed_in()
    if caller is None:
        return _to_signin()
    text = request.form.get("patterns", "")
    try:
        tag_rules.set_immutable(uow(), caller, name, _lines(text))
    except errors.IndexError_ as exc:
        return _refused(name, "immutable", exc, {"patterns": text})
    return _back(name, "immutable", "Immutable tag patterns saved.")


def _number(field: str, text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise errors.FieldInvalid(field, "a whole number, or empty for no rule")
    return int(text)


@bp.post("/r/<api_repo:name>/-/settings/retention")
def settings_retention(name: str):
    check_form()
    caller = _signed_in()
    if caller is None:
        return _to_signin()
    form = {k: request.form.get(k, "") for k in ("keep_newest", "keep_patterns", "max_age_days")}
    try:
        tag_rules.set_retention(
            uow(),
            caller,
            name,
            keep_newest=_number("keep_newest", form["keep_newest"]),
            keep_patterns=_lines(form["keep_patterns"]),
            max_age_days=_number("max_age_days", form["max_age_days"]),
        )
    except errors.IndexError_ as exc:
        return _refused(name, "retention", exc, form)
    return _back(name, "retention", "Retention rules saved.")


@bp.get("/r/<api_repo:name>/-/settings/delete-tag")
def settings_confirm_tag_deletion(name: str):
    """The confirmation step of deleting a tag (the tag chosen on the settings page)."""
    caller = _signed_in()
    if caller is None:
        return _to_signin()
    tag = request.args.get("tag", "")
    tag_rules.get_rules(uow(), caller, name)
    tags.get_tag(uow(), caller, name, tag)  # NotFound for a tag that is not there
    return render_template("delete_tag.html", name=name, tag=tag, error=None)


@bp.post("/r/<api_repo:name>/-/settings/delete-tag")
def settings_delete_tag(name: str):
    check_form()
    caller = _signed_in()
    if caller is None:
        return _to_signin()
    tag = request.form.get("tag", "")
    try:
        tag_deletion.delete_tag(uow(), current().agent, caller, name, tag)
    except errors.IndexError_ as exc:
        if isinstance(exc, errors.RepositoryNotFound | errors.PermissionDenied):
            raise
        error = to_api_error(exc)
        body = render_template("delete_tag.html", name=name, tag=tag, error=error.message)
        return body, error.status
    return _back(name, "tag", f"Tag {tag} deleted.")


@bp.post("/r/<api_repo:name>/-/settings/delete")
def settings_delete_repository(name: str):
    check_form()
    caller = _signed_in()
    if caller is None:
        return _to_signin()
    typed = request.form.get("confirm_name", "").strip()
    if typed != name:
        tag_rules.get_rules(uow(), caller, name)  # outsiders learn nothing from the message
        message = f"Type the repository's full name, {name}, to delete it."
        return _render(name, status=400, section="delete", message=message, form={})
    result = deletion.request_deletion(uow(), current().agent, caller, name)
    if result.completed:
        flash(f"Repository {name} was deleted.", "done")
        return redirect(url_for("web.home"), 303)
    return redirect(url_for("web.repository_settings", name=name) + "#delete", 303)
