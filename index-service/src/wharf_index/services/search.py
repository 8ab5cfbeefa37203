"""Browse and search repositories, visible ones only.

- :func:`browse`: by full name, optionally in one namespace.
- :func:`search`: ranked by relevance (adapters/search.py describes the rank), optionally
  in one namespace.

Private repositories appear only to those who may see them (SQL filter on grants; token
scopes are applied after the continuation key is taken, see services.paging.take).
"""

from __future__ import annotations

from ..domain import errors, policy
from ..domain.model import Principal
from .paging import Page, take
from .unit_of_work import UnitOfWork

MAX_QUERY = 200


def _namespace_id(uow: UnitOfWork, namespace: str | None) -> int | None:
    return uow.namespaces.get(namespace).id if namespace else None


def browse(
    uow: UnitOfWork,
    principal: Principal,
    *,
    namespace: str | None = None,
    after: tuple | None = None,
    limit: int = 50,
) -> Page:
    """Visible repositories by full name; keys ``(full_name,)``. Raises NamespaceNotFound."""
    with uow:
        rows = uow.repositories.list_visible(
            principal,
            namespace_id=_namespace_id(uow, namespace),
            after=after[0] if after else None,
            limit=limit + 1,
        )
    return take(rows, limit, lambda r: (r.full_name,), keep=lambda r: policy.may_see(principal, r))


def search(
    uow: UnitOfWork,
    principal: Principal,
    query: str,
    *,
    namespace: str | None = None,
    after: tuple | None = None,
    limit: int = 50,
) -> Page:
    """Visible repositories matching ``query``, best first; items are (repository, rank),
    keys ``(rank, full_name)``. Raises ValueInvalid (empty or too long query),
    NamespaceNotFound."""
    query = query.strip() if isinstance(query, str) else ""
    if not 1 <= len(query) <= MAX_QUERY or "\x00" in query:
        raise errors.ValueInvalid("q", f"the query must be 1..{MAX_QUERY} characters")
    with uow:
        rows = uow.search.search(
            principal,
            query,
            namespace_id=_namespace_id(uow, namespace),
            after=after,
            limit=limit + 1,
        )
    return take(
        rows,
        limit,
        lambda item: (item[1], item[0].full_name),
        keep=lambda item: policy.may_see(principal, item[0]),
    )
