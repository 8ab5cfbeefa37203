"""Comments on repositories: signed-in users who can see a repository comment on it;
authors delete their own; repository administrators (and site administrators) moderate.
An access token is never the author (posting is the person's, with a password or a
session: api/rest/comments.py); it deletes comments only as a moderator, with a scope
naming ``admin`` (policy.may_administer).

Private repositories the caller may not see behave as absent (RepositoryNotFound); a
comment id of another repository is "comment N not found".
"""

from __future__ import annotations

from ..domain import errors, policy
from ..domain.model import Principal
from ..domain.records import Comment
from . import audit
from .paging import Page, take
from .repositories import get_repository
from .unit_of_work import UnitOfWork

MAX_BODY = 10000


def add_comment(uow: UnitOfWork, principal: Principal, full_name: str, body: str) -> Comment:
    """Add a comment. Raises RepositoryNotFound, PermissionDenied (anonymous), ValueInvalid."""
    if not isinstance(body, str) or not 1 <= len(body.strip()) or len(body) > MAX_BODY:
        raise errors.ValueInvalid("body", f"comments are 1..{MAX_BODY} characters")
    with uow:
        repository = get_repository(uow, principal, full_name)
        if principal.user is None or principal.user.id <= 0:
            raise errors.PermissionDenied("sign in to comment")
        return uow.comments.add(repository.id, principal.user.id, body)


def list_comments(
    uow: UnitOfWork, principal: Principal, full_name: str, *, after: tuple | None, limit: int
) -> Page:
    """Comments of a visible repository, oldest first; keys are ``(id,)``."""
    with uow:
        repository = get_repository(uow, principal, full_name)
        rows = uow.comments.list(
            repository.id, after_id=after[0] if after else None, limit=limit + 1
        )
    return take(rows, limit, lambda c: (c.id,))


def delete_comment(uow: UnitOfWork, principal: Principal, full_name: str, comment_id: int) -> None:
    """Delete a comment: its author, repository administrators, site administrators.

    Raises RepositoryNotFound, NotFound (comment), PermissionDenied.
    """
    with uow:
        repository = get_repository(uow, principal, full_name)
        comment = uow.comments.find(repository.id, comment_id)
        if comment is None:
            raise errors.NotFound("comment", comment_id)
        own = (
            principal.scopes is None
            and principal.user is not None
            and comment.author_id == principal.user.id
        )
        if not own and not policy.may_administer(principal, repository):
            raise errors.PermissionDenied("only the author or repository admins may do that")
        uow.comments.delete(comment.id)
        if not own:
            audit.record(
                uow,
                principal,
                "comment.moderate",
                "repository",
                full_name,
                namespace_id=repository.namespace_id,
                repository_id=repository.id,
                detail={"comment": comment.id, "author": comment.author},
            )
