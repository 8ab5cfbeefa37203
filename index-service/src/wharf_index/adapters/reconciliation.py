"""SQL for ``wharf-index registry sync``: the Index's side of a registry's catalog.

Writes go through the other stores (repositories, content); this one only reads what the
comparison needs: the active repositories of some namespaces or held by a registry, each
one's tags with the digest they point at and the registry that manifest came from, and the
database's clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..domain.records import RecordedRepository, RecordedTag
from .base import Store


class PgReconciliationStore(Store):
    def repositories(
        self, *, namespaces: list[str] | None = None, excluded: Sequence[str] = ()
    ) -> list[RecordedRepository]:
        """Active repositories by full name: in ``namespaces`` when given, else in every
        namespace not in ``excluded``."""
        rows = self._all(
            "SELECT r.id, r.full_name FROM repositories r JOIN namespaces n"
            " ON n.id = r.namespace_id WHERE r.status = 'active'"
            " AND (%(only)s::text[] IS NULL OR n.name = ANY(%(only)s))"
            " AND NOT n.name = ANY(%(excluded)s::text[]) ORDER BY r.full_name",
            {"only": namespaces, "excluded": list(excluded)},
        )
        return [RecordedRepository(*row) for row in rows]

    def held(self, registry_id: int) -> list[RecordedRepository]:
        """Active repositories recorded as held by the registry, by full name."""
        rows = self._all(
            "SELECT r.id, r.full_name FROM repositories r JOIN repository_registries h"
            " ON h.repository_id = r.id WHERE h.registry_id = %s AND r.status = 'active'"
            " ORDER BY r.full_name",
            (registry_id,),
        )
        return [RecordedRepository(*row) for row in rows]

    def now(self) -> datetime:
        """The database's current time (the start of the transaction)."""
        return self._one("SELECT now()")[0]

    def tags(self, repository_id: int) -> dict[str, RecordedTag]:
        """``{tag: RecordedTag}`` of a repository."""
        rows = self._all(
            "SELECT t.name, m.digest, g.name FROM tags t"
            " JOIN manifests m ON m.id = t.manifest_id"
            " LEFT JOIN registries g ON g.id = m.registry_id WHERE t.repository_id = %s",
            (repository_id,),
        )
        return {row[0]: RecordedTag(*row) for row in rows}

    def manifest_id(self, repository_id: int, digest: str) -> int | None:
        """Id of the recorded manifest ``digest`` of a repository (None: not recorded)."""
        row = self._one(
            "SELECT id FROM manifests WHERE repository_id = %s AND digest = %s",
            (repository_id, digest),
        )
        return int(row[0]) if row else None
