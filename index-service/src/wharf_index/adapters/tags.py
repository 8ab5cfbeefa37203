"""Read-only SQL for the image record (tables ``tags`` and ``manifests``, migration 0004)
as the JSON API shows it.

The rows are written by the registry-event ingestion (another store); this one only reads:
tags with their manifest's digest, media type, size, config, layers and platforms.
"""

# ruff: noqa: S608 - interpolated parts are this module's constant column lists; values
# always travel as query parameters.

from __future__ import annotations

from datetime import datetime

from wharf_protocol.descriptors import is_size

from ..domain.platforms import from_record
from ..domain.records import Layer, TagRecord
from .base import Store

_COLUMNS = (
    "t.name, m.digest, m.media_type, m.size, m.config_digest, m.layers, t.pushed_by,"
    " t.pushed_at, t.pull_count, t.last_pulled_at, m.platforms"
)
_FROM = "tags t JOIN manifests m ON m.id = t.manifest_id"


def _layer(item: object) -> Layer | None:
    """A stored layer; a size that is not an int64 (recorded before events were checked
    for it) reads as 0, so the API never serves a number outside [0, 2**63)."""
    if not isinstance(item, dict):
        return None
    size = item.get("size")
    return Layer(
        str(item.get("digest", "")),
        size if is_size(size) else 0,
        str(item.get("mediaType", item.get("media_type", ""))),
    )


def _tag(row: tuple) -> TagRecord:
    name, digest, media_type, size, config, layers, *rest, platforms = row
    parsed = tuple(x for x in map(_layer, layers if isinstance(layers, list) else []) if x)
    return TagRecord(name, digest, media_type, size, config, parsed, *rest, from_record(platforms))


class PgTagStore(Store):
    def list(self, repository_id: int, *, after: str | None, limit: int) -> list[TagRecord]:
        """Tags of a repository ordered by name (keyset ``after`` = last name seen)."""
        rows = self._all(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE t.repository_id = %s"
            " AND (%s::text IS NULL OR t.name > %s) ORDER BY t.name LIMIT %s",
            (repository_id, after, after, limit),
        )
        return [_tag(row) for row in rows]

    def ages(self, repository_id: int) -> list[tuple[str, datetime]]:
        """(name, pushed at) of every tag, newest push first (ties by name): retention."""
        rows = self._all(
            "SELECT name, pushed_at FROM tags WHERE repository_id = %s"
            " ORDER BY pushed_at DESC, name",
            (repository_id,),
        )
        return [(name, pushed_at) for name, pushed_at in rows]

    def find(self, repository_id: int, name: str) -> TagRecord | None:
        row = self._one(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE t.repository_id = %s AND t.name = %s",
            (repository_id, name),
        )
        return _tag(row) if row else None
