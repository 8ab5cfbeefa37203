"""Keyset pages for list use cases: a slice of items and the key to continue after.

Services fetch ``limit + 1`` rows ordered by a unique key, hand them to :func:`take`, and
return a :class:`Page`; ``next`` is the key of the last item when more rows exist (None on
the last page). The API turns keys into opaque cursors (api/rest/pagination.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Page:
    """``items`` of one page; ``next`` the keyset key after which the next page starts."""

    items: list
    next: tuple | None = None


def take(
    rows: Sequence,
    limit: int,
    key: Callable[[Any], tuple],
    keep: Callable[[Any], bool] | None = None,
) -> Page:
    """Cut ``rows`` (fetched with ``limit + 1``) to a page.

    ``keep`` filters the page *after* the continuation key is taken from the unfiltered
    rows, so a filter applied outside SQL (token scopes) never ends a listing early.
    """
    more = len(rows) > limit
    rows = list(rows[:limit])
    following = key(rows[-1]) if more and rows else None
    return Page([r for r in rows if keep is None or keep(r)], following)


def slice_sorted(
    items: Iterable, after: tuple | None, limit: int, key: Callable[[Any], tuple]
) -> Page:
    """Page through a small in-memory list by ``key`` (unique, sortable)."""
    ordered = sorted(items, key=key)
    if after is not None:
        ordered = [item for item in ordered if key(item) > tuple(after)]
    return take(ordered, limit, key)
