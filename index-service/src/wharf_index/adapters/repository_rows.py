"""What every store that returns repositories shares (repositories, stars, search): the
columns of a repository row on the alias ``r``, the row -> Repository mapping, and the SQL
condition for the repositories a principal may see."""

from __future__ import annotations

from ..domain.model import Principal, Repository

REPOSITORY_COLUMNS = (
    "r.id, r.namespace_id, r.full_name, r.name, r.visibility, r.description, r.status,"
    " r.push_count, r.pull_count, r.created_at, r.updated_at,"
    " coalesce((SELECT c.star_count FROM star_counts c WHERE c.repository_id = r.id), 0)"
)


def repository_from_row(row: tuple) -> Repository:
    """The Repository of a row that starts with :data:`REPOSITORY_COLUMNS`."""
    rid, ns_id, full_name, name, *rest = row
    return Repository(rid, ns_id, full_name.split("/", 1)[0], name, *rest)


def visible_clause(principal: Principal) -> tuple[str, dict]:
    """Return a SQL condition on ``r`` true for repositories the principal may see.

    Token scopes are *not* applied here (patterns are not SQL): callers with a scoped
    principal post-filter with ``policy.may_see``. Status 'deleting' is hidden.
    """
    if principal.is_admin:
        return "r.status = 'active'", {}
    grants = principal.grants
    return (
        "r.status = 'active' AND (r.visibility = 'public'"
        " OR r.namespace_id = ANY(%(vis_ns)s) OR r.id = ANY(%(vis_repo)s))",
        {"vis_ns": list(grants.namespaces), "vis_repo": list(grants.repositories)},
    )
