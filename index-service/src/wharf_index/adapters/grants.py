"""SQL that loads a user's roles (own namespace, org ownership, teams, collaborations).

:data:`GRANTS` is a prepared statement (adapters/base.py: ~1 ms to plan, ~0.2 ms to run);
adapters/token_checks.py embeds the same rows (:data:`GRANT_ROWS`) in the credential-cache
check, and folds them with :func:`grants_of`.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..domain.model import Grants
from ..domain.policy import highest_role
from .base import Prepared, Store

# (kind 'ns' | 'repo', target id, role) of every role of the user %(u)s
GRANT_ROWS = """
SELECT 'ns', namespace_id, 'admin' FROM users WHERE id = %(u)s AND namespace_id IS NOT NULL
UNION ALL
SELECT 'ns', robot_owner_id, 'admin' FROM users WHERE id = %(u)s AND robot_owner_id IS NOT NULL
UNION ALL
SELECT 'ns', o.namespace_id, 'admin' FROM org_members m
  JOIN organisations o ON o.id = m.org_id WHERE m.user_id = %(u)s AND m.is_owner
UNION ALL
SELECT 'ns', o.namespace_id, t.role FROM team_members tm JOIN teams t ON t.id = tm.team_id
  JOIN organisations o ON o.id = t.org_id WHERE tm.user_id = %(u)s AND t.all_repositories
UNION ALL
SELECT 'repo', repository_id, role FROM collaborators WHERE user_id = %(u)s
UNION ALL
SELECT 'repo', tr.repository_id, t.role FROM team_members tm JOIN teams t ON t.id = tm.team_id
  JOIN team_repositories tr ON tr.team_id = t.id WHERE tm.user_id = %(u)s
"""
GRANTS = Prepared("wharf_grants", GRANT_ROWS)


def grants_of(rows: Iterable[tuple[str, int | str, str]]) -> Grants:
    """Fold :data:`GRANT_ROWS` into Grants: the strongest role per namespace/repository."""
    namespaces: dict[int, str] = {}
    repositories: dict[int, str] = {}
    for kind, target, role in rows:
        table = namespaces if kind == "ns" else repositories
        table[int(target)] = highest_role(table.get(int(target)), role)
    return Grants(namespaces=namespaces, repositories=repositories)


class PgGrantStore(Store):
    def for_user(self, user_id: int) -> Grants:
        """Return every role ``user_id`` holds, strongest role per namespace/repository."""
        return grants_of(self._prepared(GRANTS, {"u": user_id})[0])
