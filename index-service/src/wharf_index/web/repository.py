"""``/r/<namespace>/<name...>``: a repository's page, its stars and its comments.

- ``GET /r/NAME``: name, visibility, description and README (Markdown), the pull command
  (its host: the first of the repository's registries, holders and mirrors by name as
  ``GET /api/v1/repositories/NAME/-/registries`` lists them, whose kind serves the viewer,
  services.chaining.serving; no rotation turn is taken; none serving: the first listed)
  and, "Also on", the hosts of the other registries the viewer may pull it from, stars,
  pulls and pushes, tags by name (50 a page, keyset ``tags`` cursor), comments oldest
  first (50 a page, ``comments`` cursor). Names may hold ``/``; no name component starts with
  ``-``, so ``/-/`` ends the name (the API's ``api_repo`` converter).
- ``POST /r/NAME/-/star`` (``star=1`` or ``star=0``): star or unstar.
- ``POST /r/NAME/-/comments``: comment; ``POST /r/NAME/-/comments/ID``: edit;
  ``POST /r/NAME/-/comments/ID/delete``: delete (the author, repository admins).
Every rule is the services' (repositories, stars, tags, comments, registries): a repository
the visitor may not see is 404 "Not found", as one that does not exist.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, render_template, request, url_for

from ..api.rest.pagination import decode_cursor, encode_cursor
from ..context import uow
from ..domain import errors, policy
from ..domain.model import Principal, Repository
from ..services import chaining, comments, repositories, stars, tags
from . import bp
from .session import check_form, principal

PAGE = 50


def _after(kind: str, types: tuple[type, ...]) -> tuple | None:
    raw = request.args.get(kind)
    return decode_cursor(f"web-{kind}", types, raw) if raw else None


def _pull_hosts(who: Principal, repository: Repository) -> tuple[str | None, list[str]]:
    """The host the pull command names (module doc; None: no registry) and the hosts of
    the other registries ``who`` may pull ``repository`` from, each once."""
    listed = [p.registry for p in chaining.by_name(uow(), repository.full_name)]
    ordered = chaining.serving_first(listed, who, repository)
    pulled_from = chaining.serving(ordered, who, repository)
    hosts = [h for h in (urlsplit(r.url).netloc for r in ordered) if h]
    first = hosts[0] if hosts else None
    others = (urlsplit(r.url).netloc for r in pulled_from)
    return first, [h for h in dict.fromkeys(others) if h and h != first]


def _render(name: str, *, status: int = 200, error: dict | None = None):
    """The page; ``error`` ({"form": "add" | comment id, "message", "body"}) re-shows a form."""
    who = principal()
    repository, star_count, starred = stars.summary(uow(), who, name)
    tag_page = tags.list_tags(uow(), who, name, after=_after("tags", (str,)), limit=PAGE)
    comment_page = comments.list_comments(
        uow(), who, name, after=_after("comments", (int,)), limit=PAGE
    )
    host, also_on = _pull_hosts(who, repository)
    body = render_template(
        "repository.html",
        repository=repository,
        readme=repositories.get_readme(uow(), who, name),
        administers=policy.may_administer(who, repository),
        stars=star_count,
        starred=starred,
        pull_command=f"docker pull {host}/{name}" if host else f"docker pull {name}",
        also_on=also_on,
        tags=tag_page.items,
        tags_next=encode_cursor("web-tags", tag_page.next) if tag_page.next else None,
        comments=[(c, comments.may_change(who, repository, c)) for c in comment_page.items],
        comments_next=(
            encode_cursor("web-comments", comment_page.next) if comment_page.next else None
        ),
        paged=bool(request.args.get("tags")),
        error=error or {},
    )
    return body, status


def _signed_in_or_redirect(name: str):
    if principal().user is None:
        target = url_for("web.repository", name=name)
        return redirect(url_for("web.signin_form", next=target), 303)
    return None


def _back(name: str, anchor: str = ""):
    return redirect(url_for("web.repository", name=name) + anchor, 303)


@bp.get("/r/<api_repo:name>")
def repository(name: str):
    return _render(name)


@bp.post("/r/<api_repo:name>/-/star")
def star(name: str):
    check_form()
    if (away := _signed_in_or_redirect(name)) is not None:
        return away
    change = stars.star if request.form.get("star") == "1" else stars.unstar
    change(uow(), principal(), name)
    return _back(name)


def _failed(name: str, form, exc: errors.ValueInvalid | errors.PermissionDenied, body: str):
    status = 403 if isinstance(exc, errors.PermissionDenied) else 400
    message = (
        "A comment is 1 to 10,000 characters." if status == 400 else "You may not comment here."
    )
    return _render(name, status=status, error={"form": form, "message": message, "body": body})


@bp.post("/r/<api_repo:name>/-/comments")
def add_comment(name: str):
    check_form()
    if (away := _signed_in_or_redirect(name)) is not None:
        return away
    body = request.form.get("body", "")
    try:
        added = comments.add_comment(uow(), principal(), name, body)
    except (errors.ValueInvalid, errors.PermissionDenied) as exc:
        return _failed(name, "add", exc, body)
    return _back(name, f"#comment-{added.id}")


@bp.post("/r/<api_repo:name>/-/comments/<api_id:comment_id>")
def edit_comment(name: str, comment_id: int):
    check_form()
    if (away := _signed_in_or_redirect(name)) is not None:
        return away
    body = request.form.get("body", "")
    try:
        comments.edit_comment(uow(), principal(), name, comment_id, body)
    except errors.ValueInvalid as exc:
        return _failed(name, comment_id, exc, body)
    return _back(name, f"#comment-{comment_id}")


@bp.post("/r/<api_repo:name>/-/comments/<api_id:comment_id>/delete")
def delete_comment(name: str, comment_id: int):
    check_form()
    if (away := _signed_in_or_redirect(name)) is not None:
        return away
    comments.delete_comment(uow(), principal(), name, comment_id)
    return _back(name, "#comments")
