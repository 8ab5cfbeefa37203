"""Comments on a repository: list (anyone who can see it), add (signed-in users, with a
password or a session: access tokens may not post), delete (the author with a password or
a session; repository administrators and site administrators moderate, access tokens only
with a scope naming ``admin``)."""

from __future__ import annotations

from ...context import uow
from ...services import comments
from . import bp
from .auth import principal, require_account, require_user
from .inputs import load
from .openapi import doc
from .pagination import page_body, page_request
from .schemas import CommentIn, CommentSchema


@bp.get("/repositories/<api_repo:name>/-/comments")
@doc(auth="optional", response=CommentSchema, paginated=True)
def list_comments(name: str):
    """List a repository's comments, oldest first."""
    wanted = page_request("comments", (int,))
    page = comments.list_comments(uow(), principal(), name, after=wanted.after, limit=wanted.limit)
    return page_body("comments", page, CommentSchema(many=True).dump(page.items))


@bp.post("/repositories/<api_repo:name>/-/comments")
@doc(auth="account", body=CommentIn, response=CommentSchema, status=201, links={"comment_id": "id"})
def add_comment(name: str):
    """Comment on a repository."""
    caller = require_account()
    data = load(CommentIn)
    return CommentSchema().dump(comments.add_comment(uow(), caller, name, data["body"])), 201


@bp.patch("/repositories/<api_repo:name>/-/comments/<api_id:comment_id>")
@doc(auth="user", body=CommentIn, response=CommentSchema)
def edit_comment(name: str, comment_id: int):
    """Replace a comment's body (its author, repository admins, administrators)."""
    data = load(CommentIn)
    changed = comments.edit_comment(uow(), require_user(), name, comment_id, data["body"])
    return CommentSchema().dump(changed)


@bp.delete("/repositories/<api_repo:name>/-/comments/<api_id:comment_id>")
@doc(auth="user", status=204)
def delete_comment(name: str, comment_id: int):
    """Delete a comment (its author, repository admins, administrators)."""
    comments.delete_comment(uow(), require_user(), name, comment_id)
    return "", 204
