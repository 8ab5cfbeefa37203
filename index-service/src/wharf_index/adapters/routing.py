"""SQL for where the Index sends clients: namespace routes (``namespace_routes``) and the
rotation's turn per repository (``registry_turns``), migration 0031."""

from __future__ import annotations

from ..domain.model import Route
from .base import Store


class PgRoutingStore(Store):
    def routes(self) -> list[Route]:
        """Every route by namespace, its registries by name in route order."""
        rows = self._all(
            "SELECT r.namespace, array_agg(g.name ORDER BY r.position) FROM namespace_routes r"
            " JOIN registries g ON g.id = r.registry_id GROUP BY r.namespace ORDER BY r.namespace"
        )
        return [Route(namespace, tuple(names)) for namespace, names in rows]

    def routed_namespaces(self, registry_id: int) -> list[str]:
        """The namespaces whose route names the registry, by name."""
        rows = self._all(
            "SELECT namespace FROM namespace_routes WHERE registry_id = %s ORDER BY namespace",
            (registry_id,),
        )
        return [row[0] for row in rows]

    def set_route(self, namespace: str, registry_ids: list[int]) -> None:
        """Replace the route of ``namespace`` by ``registry_ids`` in order ([]: no route)."""
        self._exec("DELETE FROM namespace_routes WHERE namespace = %s", (namespace,))
        for position, registry_id in enumerate(registry_ids):
            self._exec(
                "INSERT INTO namespace_routes (namespace, position, registry_id)"
                " VALUES (%s, %s, %s)",
                (namespace, position, registry_id),
            )

    def take_turn(self, repository_id: int) -> int:
        """Return the repository's next turn in the rotation (0, 1, 2...), counting it taken.

        One upsert: concurrent callers each get their own turn (the row lock orders them).
        """
        row = self._one(
            "INSERT INTO registry_turns AS t (repository_id) VALUES (%s)"
            " ON CONFLICT (repository_id) DO UPDATE SET turn = t.turn + 1 RETURNING t.turn",
            (repository_id,),
        )
        return int(row[0])
