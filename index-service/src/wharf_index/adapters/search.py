"""SQL for repository search: ranked (``GET /api/v1/search``) and by name with a total
(``GET /v1/search``, what ``docker search`` reads). One matching CTE serves both. Also the
visible names after a name, for the Index's ``GET /v2/_catalog`` (:meth:`PgSearchStore.names`).

Matching (visible repositories only, optionally in one namespace): ``full_name`` or
``description`` contains the query (ILIKE; LIKE wildcards in the query are literal). The
ranked search also takes names trigram-similar to the query (``%`` operator, pg_trgm's
default threshold 0.3) when the query has a trigram to look up (three ASCII letters or
digits in a row); shorter queries match by containment only.

Rank (ranked search; higher first, ties by full name)::

    rank = 3 if the name (with or without namespace) is the query, else
           2.5 if it starts with the query, else 2 if the full name contains it, else 0
         + 0.5 if the description contains the query
         + similarity(full_name, q)

Keyset pagination continues after ``(rank, full_name)``; ``page`` orders by full name
with OFFSET and counts every match.

Plans (measured at 100,000 repositories): the matches come from the trigram indexes of
migration 0006, combined with one BitmapOr, so each match is read once (one bitmap heap
scan: its recheck and the rank are computed on that row), and the rank once per match in a
materialized CTE. (An earlier form gathered ids from three index-scan branches into an array
and fetched every match again by id: for a common word, 2,000 matches, each row was read
four times, 25-30 ms instead of 12-15 ms.) PostgreSQL's cost model underrates ILIKE's and
especially ``%``'s CPU cost (``%`` computes a similarity for every row it filters: ~250 ms
per sequential scan), so with a query that has a trigram the statement runs with
``enable_seqscan = off`` (what is left is the BitmapOr of the trigram indexes; and
``jit = off``: disabled nodes inflate the costs past JIT's threshold). The settings are
``SET LOCAL``: they last until the unit of work's transaction ends. A query without a
trigram cannot use those indexes (a GIN scan would return every row), so it is answered by
one sequential scan with the planner's defaults.
"""

# ruff: noqa: S608 - interpolated parts are constant SQL fragments and the visibility
# clause from adapters.repository_rows; values always travel as query parameters.

from __future__ import annotations

import re

from ..domain.model import Principal, Repository
from .base import Store, like_pattern
from .repository_rows import (
    BASE_COLUMNS,
    repository_from_row,
    star_count,
    visible_clause,
)

_TRIGRAM = re.compile(r"[A-Za-z0-9]{3}")
_INDEXED = "SET LOCAL enable_seqscan = off; SET LOCAL jit = off; "
_CONTAINS = "(r.full_name ILIKE %(contains)s OR r.description ILIKE %(contains)s)"
# Every branch is trigram-indexed: one BitmapOr, one visit of each matching heap row.
_HITS = "(r.full_name ILIKE %(contains)s OR r.description ILIKE %(contains)s{similar})"
_SIMILAR = " OR r.full_name %% %(q)s"
_RANK = (
    "(CASE WHEN r.name ILIKE %(exact)s OR r.full_name ILIKE %(exact)s THEN 3"
    " WHEN r.name ILIKE %(prefix)s OR r.full_name ILIKE %(prefix)s THEN 2.5"
    " WHEN r.full_name ILIKE %(contains)s THEN 2 ELSE 0 END"
    " + CASE WHEN r.description ILIKE %(contains)s THEN 0.5 ELSE 0 END"
    " + similarity(r.full_name, %(q)s))::float8"
)
_RANKED = (
    f" SELECT s.*, {star_count('s')} FROM matches s"
    " WHERE %(after)s::text IS NULL OR s.rank < %(rank)s"
    " OR (s.rank = %(rank)s AND s.full_name > %(after)s)"
    " ORDER BY s.rank DESC, s.full_name LIMIT %(limit)s"
)
_BY_NAME = (
    f" SELECT p.*, {star_count('p')}, (SELECT count(*) FROM matches)"
    " FROM (SELECT * FROM matches m ORDER BY m.full_name LIMIT %(limit)s OFFSET %(offset)s) p"
    " ORDER BY p.full_name"
)


class PgSearchStore(Store):
    def search(
        self,
        principal: Principal,
        query: str,
        *,
        namespace_id: int | None,
        after: tuple[float, str] | None,
        limit: int,
    ) -> list[tuple[Repository, float]]:
        """Return (repository, rank) visible to ``principal`` matching ``query`` (not empty),
        best first, after the key ``after`` = (rank, full_name) of the previous page."""
        sql, params = self._matches(principal, query, namespace_id=namespace_id, ranked=True)
        params.update(
            limit=limit, rank=after[0] if after else None, after=after[1] if after else None
        )
        rows = self._all(sql + _RANKED, params)  # columns, rank, star count
        return [(repository_from_row(row[:-2] + row[-1:]), float(row[-2])) for row in rows]

    def page(
        self, principal: Principal, query: str, *, limit: int, offset: int
    ) -> tuple[list[Repository], int]:
        """Return ([repository], total matches) for one page by full name; an empty
        ``query`` matches every visible repository."""
        sql, params = self._matches(principal, query, namespace_id=None, ranked=False)
        params.update(limit=limit, offset=offset)
        rows = self._all(sql + _BY_NAME, params)
        if rows or offset == 0:
            return [repository_from_row(row[:-1]) for row in rows], (
                int(rows[0][-1]) if rows else 0
            )
        total = self._one(sql + " SELECT count(*) FROM matches", params)
        return [], int(total[0])

    def names(self, principal: Principal, *, after: str | None, limit: int) -> list[str]:
        """Return the full names of visible repositories after ``after``, sorted (bytewise:
        the order ``last`` resumes in), at most ``limit``."""
        clause, params = visible_clause(principal)
        params.update(after=after, limit=limit)
        rows = self._all(
            f"SELECT r.full_name FROM repositories r WHERE {clause}"
            ' AND (%(after)s::text IS NULL OR r.full_name COLLATE "C" > %(after)s)'
            ' ORDER BY r.full_name COLLATE "C" LIMIT %(limit)s',
            params,
        )
        return [row[0] for row in rows]

    @staticmethod
    def _matches(
        principal: Principal, query: str, *, namespace_id: int | None, ranked: bool
    ) -> tuple[str, dict]:
        """Return the ``WITH matches AS MATERIALIZED (...)`` prefix (with the rank column
        when ``ranked``) and its parameters."""
        clause, params = visible_clause(principal)
        contains = like_pattern(query)
        params.update(
            q=query, contains=contains, exact=contains[1:-1], prefix=contains[1:], ns=namespace_id
        )
        indexed = _TRIGRAM.search(query) is not None
        if not query:
            match = "TRUE"
        elif indexed:
            match = _HITS.format(similar=_SIMILAR if ranked else "")
        else:
            match = _CONTAINS
        rank = f", {_RANK} AS rank" if ranked else ""
        return (
            (_INDEXED if indexed else "")
            + f"WITH matches AS MATERIALIZED (SELECT {BASE_COLUMNS}{rank} FROM repositories r"
            f" WHERE {clause} AND (%(ns)s::bigint IS NULL OR r.namespace_id = %(ns)s)"
            f" AND {match})",
            params,
        )
