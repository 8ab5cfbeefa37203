"""SQL for the documents the tag page fetched from registries (table ``image_documents``,
migration 0024): manifests and configs (content-addressed, never change) and referrers
lists (refreshed by age). services/image_details.py decides what to keep and for how long.
"""

from __future__ import annotations

from datetime import datetime

import psycopg2

from ..domain.records import ImageDocument
from .base import Store


class PgImageDocumentStore(Store):
    def find(self, repository_id: int, kind: str, digest: str) -> ImageDocument | None:
        """The document ``kind`` of ``digest`` kept for the repository, or None."""
        row = self._one(
            "SELECT media_type, body, fetched_at FROM image_documents"
            " WHERE repository_id = %s AND kind = %s AND digest = %s",
            (repository_id, kind, digest),
        )
        if row is None:
            return None
        media_type, body, fetched_at = row
        return ImageDocument(kind, digest, media_type, bytes(body), fetched_at)

    def put(
        self, repository_id: int, kind: str, digest: str, media_type: str, body: bytes
    ) -> datetime:
        """Keep (or refresh) a document; return when it was recorded."""
        row = self._one(
            "INSERT INTO image_documents (repository_id, kind, digest, media_type, body)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (repository_id, kind, digest) DO UPDATE"
            " SET media_type = EXCLUDED.media_type, body = EXCLUDED.body, fetched_at = now()"
            " RETURNING fetched_at",
            (repository_id, kind, digest, media_type, psycopg2.Binary(body)),
        )
        return row[0]
