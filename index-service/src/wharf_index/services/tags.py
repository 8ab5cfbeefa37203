"""Tags of a repository with their digests, sizes and layers (read side for the API).

The records come from registry events (services.events); this module only reads them,
with the repository's visibility rule: invisible repositories are RepositoryNotFound.
"""

from __future__ import annotations

from ..domain import errors
from ..domain.model import Principal
from ..domain.records import TagRecord
from .paging import Page, take
from .repositories import get_repository
from .unit_of_work import UnitOfWork


def list_tags(
    uow: UnitOfWork, principal: Principal, full_name: str, *, after: tuple | None, limit: int
) -> Page:
    """Tags by name; keys are ``(name,)``. Raises RepositoryNotFound."""
    with uow:
        repository = get_repository(uow, principal, full_name)
        rows = uow.tags.list(repository.id, after=after[0] if after else None, limit=limit + 1)
    return take(rows, limit, lambda t: (t.name,))


def get_tag(uow: UnitOfWork, principal: Principal, full_name: str, tag: str) -> TagRecord:
    """Return one tag with its layers. Raises RepositoryNotFound, NotFound (tag)."""
    with uow:
        repository = get_repository(uow, principal, full_name)
        found = uow.tags.find(repository.id, tag)
    if found is None:
        raise errors.NotFound("tag", tag)
    return found
