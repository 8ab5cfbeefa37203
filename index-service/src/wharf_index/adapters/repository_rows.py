"""What every store that returns repositories shares (repositories, stars, search): the
columns of a repository row on the alias ``r``, the row -> Repository mapping, and the SQL
condition for the repositories a principal may see."""

from __future__ import annotations

from ..domain.model import Principal, Repository

# The repository's own columns; then its star count (table star_counts, migration 0028)
# looked up by id on the alias given, so that a statement can add it only to the rows it
# returns (search ranks thousands of matches and returns 20).
BASE_COLUMNS = (
    "r.id, r.namespace_id, r.full_name, r.name, r.visibility, r.description, r.status,"
    " r.push_count, r.pull_count, r.created_at, r.updated_at"
)


def star_count(alias: str) -> str:
    """The SQL of the star count of the repository row ``alias`` (its ``id``); ``alias`` is
    a constant of the calling store, never input."""
    lookup = "SELECT c.star_count FROM star_counts c WHERE c.repository_id = "
    return f"coalesce(({lookup}{alias}.id), 0)"


REPOSITORY_COLUMNS = f"{BASE_COLUMNS}, {star_count('r')}"


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
