"""SQL for the registry directory: registries, their hashed credentials and namespaces, and
which repositories each holds (``repository_registries``, migration 0011)."""

# ruff: noqa: S608 - interpolated parts are this module's constant column lists; values
# always travel as query parameters.

from __future__ import annotations

from datetime import datetime

from ..domain.errors import RegistryNotFound
from ..domain.model import Registry
from .base import Store

_COLUMNS = (
    "g.id, g.name, g.url, g.kind,"
    " coalesce((SELECT array_agg(namespace ORDER BY namespace) FROM registry_namespaces"
    " WHERE registry_id = g.id), '{}'), g.created_at, g.catalog, g.wharf_since, g.weight,"
    " (SELECT u.name FROM registries u WHERE u.id = g.upstream_id)"
)
#: Registry.filters_catalog in SQL, of the ``registries`` row ``g`` (migration 0021).
CATALOG_FILTERED = "(g.catalog = 'filtered' OR (g.catalog = 'auto' AND g.wharf_since IS NOT NULL))"


def _registry(row: tuple) -> Registry:
    rid, name, url, kind, namespaces, created_at, catalog, wharf_since, weight, upstream = row
    return Registry(
        rid, name, url, kind, tuple(namespaces), created_at, catalog, wharf_since, weight, upstream
    )


class PgRegistryStore(Store):
    def create(
        self,
        name: str,
        url: str,
        kind: str,
        credential_hash: bytes,
        namespaces: tuple[str, ...],
        catalog: str = "auto",
        weight: int = 1,
        upstream_id: int | None = None,
    ) -> Registry | None:
        """Insert a registry and its namespaces; None when the name is taken."""
        row = self._one(
            "INSERT INTO registries (name, url, kind, credential_hash, catalog, weight,"
            " upstream_id) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (name) DO NOTHING RETURNING id",
            (name, url, kind, credential_hash, catalog, weight, upstream_id),
        )
        if row is None:
            return None
        for namespace in namespaces:
            self._exec(
                "INSERT INTO registry_namespaces (registry_id, namespace) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                (row[0], namespace),
            )
        return self.get(name)

    def find(self, name: str) -> Registry | None:
        row = self._one(f"SELECT {_COLUMNS} FROM registries g WHERE g.name = %s", (name,))
        return _registry(row) if row else None

    def get(self, name: str) -> Registry:
        registry = self.find(name)
        if registry is None:
            raise RegistryNotFound(name)
        return registry

    def with_hash(self, name: str) -> tuple[Registry, bytes] | None:
        row = self._one(
            f"SELECT {_COLUMNS}, g.credential_hash FROM registries g WHERE g.name = %s", (name,)
        )
        return (_registry(row[:-1]), bytes(row[-1])) if row else None

    def list(self) -> list[Registry]:
        return [
            _registry(r) for r in self._all(f"SELECT {_COLUMNS} FROM registries g ORDER BY g.name")
        ]

    def serving(self, namespace: str) -> list[Registry]:
        """Registries that declared ``namespace``, by name."""
        rows = self._all(
            f"SELECT {_COLUMNS} FROM registries g WHERE g.id IN (SELECT registry_id FROM"
            " registry_namespaces WHERE namespace = %s) ORDER BY g.name",
            (namespace,),
        )
        return [_registry(row) for row in rows]

    def unrestricted(self) -> list[Registry]:
        """Registries that declared no namespace (they serve every namespace), by name."""
        rows = self._all(
            f"SELECT {_COLUMNS} FROM registries g WHERE NOT EXISTS (SELECT 1 FROM"
            " registry_namespaces WHERE registry_id = g.id) ORDER BY g.name"
        )
        return [_registry(row) for row in rows]

    def routed(self, namespace: str) -> list[Registry]:
        """The registries ``namespace`` is routed to, in route order (``namespace_routes``)."""
        rows = self._all(
            f"SELECT {_COLUMNS} FROM registries g JOIN namespace_routes r ON r.registry_id = g.id"
            " WHERE r.namespace = %s ORDER BY r.position",
            (namespace,),
        )
        return [_registry(row) for row in rows]

    # -- holdings ---------------------------------------------------------------------------

    def holding(self, full_name: str) -> list[Registry]:
        """Registries recorded as holding the repository ``full_name``, by name."""
        rows = self._all(
            f"SELECT {_COLUMNS} FROM registries g JOIN repository_registries h"
            " ON h.registry_id = g.id JOIN repositories r ON r.id = h.repository_id"
            " WHERE r.full_name = %s ORDER BY g.name",
            (full_name,),
        )
        return [_registry(row) for row in rows]

    def hold(self, repository_id: int, registry_id: int) -> None:
        """Record that the registry holds the repository (refreshes ``updated_at``)."""
        self._exec(
            "INSERT INTO repository_registries (repository_id, registry_id) VALUES (%s, %s)"
            " ON CONFLICT (repository_id, registry_id) DO UPDATE SET updated_at = now()",
            (repository_id, registry_id),
        )

    def release(self, repository_id: int, registry_id: int) -> bool:
        """Forget that the registry holds the repository; False when it was not recorded."""
        return bool(
            self._exec(
                "DELETE FROM repository_registries WHERE repository_id = %s AND registry_id = %s",
                (repository_id, registry_id),
            )
        )

    def held_since(self, repository_id: int, registry_id: int, since: datetime) -> bool:
        """True when the holding was recorded or refreshed at or after ``since``."""
        return (
            self._one(
                "SELECT 1 FROM repository_registries WHERE repository_id = %s AND registry_id = %s"
                " AND updated_at >= %s",
                (repository_id, registry_id, since),
            )
            is not None
        )

    def holder_count(self, repository_id: int) -> int:
        """How many registries are recorded as holding the repository."""
        row = self._one(
            "SELECT count(*) FROM repository_registries WHERE repository_id = %s", (repository_id,)
        )
        return int(row[0])

    def last_events(self) -> dict[int, datetime]:
        """Registry id -> when the Index last applied an event it sent, for the registries
        with an event id still remembered (``processed_events``, pruned after
        INDEX_EVENT_RETENTION; one index probe per registry, migration 0027)."""
        rows = self._all(
            "SELECT g.id, e.at FROM registries g CROSS JOIN LATERAL (SELECT max(processed_at)"
            " AS at FROM processed_events WHERE registry_id = g.id) e WHERE e.at IS NOT NULL"
        )
        return {registry_id: at for registry_id, at in rows}

    def set_credential_hash(self, registry_id: int, credential_hash: bytes) -> None:
        self._exec(
            "UPDATE registries SET credential_hash = %s WHERE id = %s",
            (credential_hash, registry_id),
        )

    def set_catalog(self, registry_id: int, catalog: str) -> None:
        """Record the administrator's word on the registry's catalog (auto|filtered|unfiltered)."""
        self._exec("UPDATE registries SET catalog = %s WHERE id = %s", (catalog, registry_id))

    def set_kind(self, registry_id: int, kind: str) -> None:
        """Record the registry's kind (private|sponsor|mirror|vendor)."""
        self._exec("UPDATE registries SET kind = %s WHERE id = %s", (kind, registry_id))

    def set_weight(self, registry_id: int, weight: int) -> None:
        """Set the registry's share of first places in the rotation (0..100)."""
        self._exec("UPDATE registries SET weight = %s WHERE id = %s", (weight, registry_id))

    def set_upstream(self, registry_id: int, upstream_id: int | None) -> None:
        """Make the registry a mirror of ``upstream_id`` (None: of no registry)."""
        self._exec(
            "UPDATE registries SET upstream_id = %s WHERE id = %s", (upstream_id, registry_id)
        )

    def note_wharf(self, registry_id: int) -> None:
        """Record that the registry called an endpoint only Wharf's registry calls, once: the
        first call sets ``wharf_since``, later ones change nothing."""
        self._exec(
            "UPDATE registries SET wharf_since = now() WHERE id = %s AND wharf_since IS NULL",
            (registry_id,),
        )

    def delete(self, registry_id: int) -> None:
        self._exec("DELETE FROM registries WHERE id = %s", (registry_id,))
