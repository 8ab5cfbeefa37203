"""What the web pages list about repositories: the home page's lists, and the facts a
list row shows (stars, pulls, last push) for repositories the caller already sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain.model import Repository
from .unit_of_work import UnitOfWork

HOME_LIST = 8


@dataclass(frozen=True)
class Listed:
    """A repository as a list row shows it."""

    repository: Repository
    stars: int
    last_pushed: datetime | None


def home(uow: UnitOfWork, limit: int = HOME_LIST) -> tuple[list[Listed], list[Listed]]:
    """Return (recently pushed, most starred) public repositories, ``limit`` of each."""
    with uow:
        recent = uow.explore.recently_pushed(limit)
        starred = uow.explore.most_starred(limit)
        pushed = uow.explore.last_pushed([r.id for r in starred])
    return (
        [Listed(r, r.star_count, at) for r, at in recent],
        [Listed(r, r.star_count, pushed.get(r.id)) for r in starred],
    )


def listed(uow: UnitOfWork, repositories: list[Repository]) -> list[Listed]:
    """Return the rows of ``repositories`` (which the caller may see), in their order."""
    if not repositories:
        return []
    with uow:
        pushed = uow.explore.last_pushed([r.id for r in repositories])
    return [Listed(r, r.star_count, pushed.get(r.id)) for r in repositories]
