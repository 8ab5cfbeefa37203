"""SQL for namespaces (one per user and per organisation)."""

# ruff: noqa: S608 - interpolated parts are this module's constant column lists; values
# always travel as query parameters.

from __future__ import annotations

from ..domain.errors import NamespaceNotFound
from ..domain.model import Namespace
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

    def delete(self, namespace_id: int) -> None:
        """Delete the namespace and, by cascade, its repositories, org, robots."""
        self._exec("DELETE FROM namespaces WHERE id = %s", (namespace_id,))
