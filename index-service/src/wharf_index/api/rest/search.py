"""Search repositories by name and description (PostgreSQL trigram indexes), ranked.

``GET /api/v1/search?q=...`` -- ``q`` is 1..200 characters, taken literally (LIKE
wildcards and SQL are just text); results are the repositories the caller may see, best
match first (the rank is in each item), paginated like every list.
"""

from __future__ import annotations

from ...context import uow
from ...domain.model import Repository
from ...services import search
from . import bp
from .auth import principal
from .inputs import NAMESPACE_FILTER, Param, query
from .openapi import doc
from .pagination import page_body, page_request
from .repositories import repository_rows
from .schemas import SearchResultSchema

Q = Param("q", search.MAX_QUERY, required=True, not_blank=True, description="the search text")


@bp.get("/search")
@doc(
    auth="optional",
    response=SearchResultSchema,
    paginated=True,
    query=(Q, NAMESPACE_FILTER),
    errors=(404,),
)
def search_repositories():
    """Search the repositories the caller may see, best match first."""
    text = query(Q)
    wanted = page_request("search", (float, str))
    page = search.search(
        uow(),
        principal(),
        text,
        namespace=query(NAMESPACE_FILTER),
        after=wanted.after,
        limit=wanted.limit,
    )
    found: list[Repository] = [repository for repository, _ in page.items]
    rows = [
        dict(row, rank=rank)
        for row, (_, rank) in zip(repository_rows(found), page.items, strict=True)
    ]
    return page_body("search", page, SearchResultSchema(many=True).dump(rows))
