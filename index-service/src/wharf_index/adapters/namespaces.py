"""SQL for namespaces (one per user and per organisation)."""

# ruff: noqa: S608 - interpolated parts are this module's constant column lists; values
# always travel as query parameters.

from __future__ import annotations

from ..domain.errors import NamespaceNotFound
from ..domain.model import Namespace
from ..domain.records import QuotaState
from .base import Store

_COLUMNS = "id, name, kind, default_visibility, created_at"


class PgNamespaceStore(Store):
    def create(self, name: str, kind: str, default_visibility: str) -> Namespace | None:
        """Insert a namespace; return None when the name is taken (no error, no abort)."""
        row = self._one(
            f"INSERT INTO namespaces (name, kind, default_visibility) VALUES (%s, %s, %s)"
            f" ON CONFLICT (name) DO NOTHING RETURNING {_COLUMNS}",
            (name, kind, default_visibility),
        )
        return Namespace(*row) if row else None

    def find(self, name: str) -> Namespace | None:
        row = self._one(f"SELECT {_COLUMNS} FROM namespaces WHERE name = %s", (name,))
        return Namespace(*row) if row else None

    def get(self, name: str) -> Namespace:
        """Return the namespace called ``name``; NamespaceNotFound otherwise."""
        namespace = self.find(name)
        if namespace is None:
            raise NamespaceNotFound(name)
        return namespace

    def by_id(self, namespace_id: int) -> Namespace:
        row = self._one(f"SELECT {_COLUMNS} FROM namespaces WHERE id = %s", (namespace_id,))
        if row is None:
            raise NamespaceNotFound(namespace_id)
        return Namespace(*row)

    def set_default_visibility(self, namespace_id: int, visibility: str) -> None:
        self._exec(
            "UPDATE namespaces SET default_visibility = %s WHERE id = %s",
            (visibility, namespace_id),
        )

    # -- storage quotas (migration 0016; the use is kept by its triggers) -------------------

    def quota(self, namespace_id: int) -> QuotaState:
        """The namespace's chosen quota (if any) and its use."""
        row = self._one(
            "SELECT n.name, q.namespace_id IS NOT NULL, q.quota_limit,"
            " least(coalesce(u.used, 0), 9223372036854775807)::bigint FROM namespaces n"
            " LEFT JOIN namespace_quotas q ON q.namespace_id = n.id"
            " LEFT JOIN namespace_usage u ON u.namespace_id = n.id WHERE n.id = %s",
            (namespace_id,),
        )
        if row is None:
            raise NamespaceNotFound(namespace_id)
        return QuotaState(row[0], bool(row[1]), row[2], int(row[3]))

    def set_quota(self, namespace_id: int, limit: int | None) -> None:
        """Choose the namespace's quota (``None``: none, whatever the default)."""
        self._exec(
            "INSERT INTO namespace_quotas (namespace_id, quota_limit) VALUES (%s, %s)"
            " ON CONFLICT (namespace_id) DO UPDATE SET quota_limit = EXCLUDED.quota_limit,"
            " updated_at = now()",
            (namespace_id, limit),
        )

    def clear_quota(self, namespace_id: int) -> None:
        """Forget the chosen quota: the default applies again."""
        self._exec("DELETE FROM namespace_quotas WHERE namespace_id = %s", (namespace_id,))

    def delete(self, namespace_id: int) -> None:
        """Delete the namespace and, by cascade, its repositories, org, robots."""
        self._exec("DELETE FROM namespaces WHERE id = %s", (namespace_id,))
