"""Comments on repositories: signed-in users who can see a repository comment on it;
authors edit and delete their own; repository administrators (and site administrators)
moderate: they edit and delete any (audited as ``comment.moderate``). An access token is
never the author (posting is the person's, with a password or a session:
api/rest/comments.py); it edits or deletes comments only as a moderator, with a scope
naming ``admin`` (policy.may_administer).

Private repositories the caller may not see behave as absent (RepositoryNotFound); a
comment id of another repository is "comment N not found".
"""

from __future__ import annotations

from ..domain import errors, policy
from ..domain.model import Principal, Repository
from ..domain.records import Comment
from . import audit
from .paging import Page, take
from .repositories import get_repository
from .unit_of_work import UnitOfWork

MAX_BODY = 10000


def _check_body(body: str) -> None:
    if not isinstance(body, str) or not 1 <= len(body.strip()) or len(body) > MAX_BODY:
        raise errors.ValueInvalid("body", f"comments are 1..{MAX_BODY} characters")


def is_own(principal: Principal, comment: Comment) -> bool:
    """True when ``principal`` is the comment's author in person (not an access token)."""
    return (
        principal.scopes is None
        and principal.user is not None
        and comment.author_id == principal.user.id
    )


def may_change(principal: Principal, repository: Repository, comment: Comment) -> bool:
    """May ``principal`` edit or delete ``comment``: its author, or a moderator."""
    return is_own(principal, comment) or policy.may_administer(principal, repository)


def add_comment(uow: UnitOfWork, principal: Principal, full_name: str, body: str) -> Comment:
    """Add a comment. Raises RepositoryNotFound, PermissionDenied (anonymous), ValueInvalid."""
    _check_body(body)
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


def _changeable(
    uow: UnitOfWork, principal: Principal, full_name: str, comment_id: int
) -> tuple[Repository, Comment, bool]:
    """(repository, comment, own) when ``principal`` may change the comment."""
    repository = get_repository(uow, principal, full_name)
    comment = uow.comments.find(repository.id, comment_id)
    if comment is None:
        raise errors.NotFound("comment", comment_id)
    if not may_change(principal, repository, comment):
        raise errors.PermissionDenied("only the author or repository admins may do that")
    return repository, comment, is_own(principal, comment)


def _moderated(
    uow: UnitOfWork,
    principal: Principal,
    full_name: str,
    repository: Repository,
    comment: Comment,
    change: str,
) -> None:
    audit.record(
        uow,
        principal,
        "comment.moderate",
        "repository",
        full_name,
        namespace_id=repository.namespace_id,
        repository_id=repository.id,
        detail={"comment": comment.id, "author": comment.author, "change": change},
    )


def edit_comment(
    uow: UnitOfWork, principal: Principal, full_name: str, comment_id: int, body: str
) -> Comment:
    """Replace a comment's body: its author, repository administrators, site administrators.

    Raises ValueInvalid, RepositoryNotFound, NotFound (comment), PermissionDenied.
    """
    _check_body(body)
    with uow:
        repository, comment, own = _changeable(uow, principal, full_name, comment_id)
        changed = uow.comments.update(comment.id, body)
        if changed is None:
            raise errors.NotFound("comment", comment_id)
        if not own:
            _moderated(uow, principal, full_name, repository, comment, "edit")
        return changed


def delete_comment(uow: UnitOfWork, principal: Principal, full_name: str, comment_id: int) -> None:
    """Delete a comment: its author, repository administrators, site administrators.

    Raises RepositoryNotFound, NotFound (comment), PermissionDenied.
    """
    with uow:
        repository, comment, own = _changeable(uow, principal, full_name, comment_id)
        uow.comments.delete(comment.id)
        if not own:
            _moderated(uow, principal, full_name, repository, comment, "delete")
