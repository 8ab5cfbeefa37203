"""Stars: a signed-in user marks repositories they can see; counts per repository.

A repository's count is its ``star_count`` (table ``star_counts``, migration 0028: every
star, a disabled user's too; a deleted user's stars go with them), read with the repository
itself: lists, search and the API show that one number.

Private repositories the caller may not see behave as absent (RepositoryNotFound), exactly
as in services.repositories.
"""

from __future__ import annotations

from ..domain import errors, policy
from ..domain.model import Principal, Repository
from .paging import Page, take
from .repositories import get_repository
from .unit_of_work import UnitOfWork


def _user_id(principal: Principal) -> int:
    if principal.user is None or principal.user.id <= 0:
        raise errors.PermissionDenied("sign in to star repositories")
    return principal.user.id


def star(uow: UnitOfWork, principal: Principal, full_name: str) -> tuple[int, bool]:
    """Star a visible repository (idempotent); return (stars, True)."""
    with uow:
        repository = get_repository(uow, principal, full_name)
        uow.stars.add(_user_id(principal), repository.id)
        return uow.stars.count(repository.id), True


def unstar(uow: UnitOfWork, principal: Principal, full_name: str) -> tuple[int, bool]:
    """Remove the caller's star (idempotent); return (stars, False)."""
    with uow:
        repository = get_repository(uow, principal, full_name)
        uow.stars.remove(_user_id(principal), repository.id)
        return uow.stars.count(repository.id), False


def summary(uow: UnitOfWork, principal: Principal, full_name: str) -> tuple[Repository, int, bool]:
    """Return (repository, stars, starred by the caller) for a visible repository."""
    with uow:
        repository = get_repository(uow, principal, full_name)
        user = principal.user
        starred = user is not None and user.id > 0 and uow.stars.has(user.id, repository.id)
        return repository, repository.star_count, starred


def starred_by(
    uow: UnitOfWork, principal: Principal, username: str, *, after: tuple | None, limit: int
) -> Page:
    """Repositories ``username`` starred, restricted to those ``principal`` may see.

    Raises UserNotFound. Keys are ``(full_name,)``.
    """
    with uow:
        user = uow.users.get(username)
        rows = uow.stars.starred_by(
            user.id, principal, after=after[0] if after else None, limit=limit + 1
        )
    return take(rows, limit, lambda r: (r.full_name,), keep=lambda r: policy.may_see(principal, r))
