"""``GET /search?q=&sort=&cursor=|page=``: repositories the visitor may see.

The same rules as ``GET /api/v1/search`` (services/search.py): private repositories only
for those who may see them. ``sort=relevance`` (the default) pages by a cursor after the
last (rank, name); ``sort=name`` pages by number, alphabetically.
"""

from __future__ import annotations

from flask import render_template, request

from ..api.rest.pagination import decode_cursor, encode_cursor
from ..context import uow
from ..domain import errors
from ..services import explore
from ..services import search as searching
from . import bp
from .session import principal

PAGE = 20
SORTS = ("relevance", "name")
MAX_PAGE = 500


@bp.get("/search")
def search():
    text = request.args.get("q", "").strip()
    sort = request.args.get("sort", "relevance")
    if sort not in SORTS:
        sort = "relevance"
    if not text:
        return render_template("search.html", q="", sort=sort, rows=[], searched=False)
    if len(text) > searching.MAX_QUERY:
        raise errors.ValueInvalid("q", f"a search is at most {searching.MAX_QUERY} characters")
    if sort == "name":
        return _by_name(text)
    cursor = request.args.get("cursor")
    after = decode_cursor("web-search", (float, str), cursor) if cursor else None
    found = searching.search(uow(), principal(), text, after=after, limit=PAGE)
    rows = explore.listed(uow(), [repository for repository, _ in found.items])
    following = encode_cursor("web-search", found.next) if found.next else None
    return render_template(
        "search.html", q=text, sort=sort, rows=rows, searched=True, next_cursor=following
    )


def _by_name(text: str):
    number = request.args.get("page", "1")
    number = int(number) if number.isdigit() and 1 <= int(number) <= MAX_PAGE else 1
    work = uow()
    with work:
        found, total = work.search.page(principal(), text, limit=PAGE, offset=(number - 1) * PAGE)
    rows = explore.listed(work, found)
    pages = min(MAX_PAGE, max(1, -(-total // PAGE)))
    return render_template(
        "search.html",
        q=text,
        sort="name",
        rows=rows,
        searched=True,
        total=total,
        page=number,
        pages=pages,
    )
