"""SQL that writes the image record from registry events (tables of migration 0004).

- ``processed_events``: :meth:`PgContentStore.claim_event` inserts an event id once; the
  caller applies the event's effect in the same transaction, so an id is applied exactly
  once even when two deliveries race (the second INSERT waits for the first to commit,
  then finds the row). Ids are kept ``INDEX_EVENT_RETENTION`` seconds
  (:meth:`PgContentStore.prune_events`; the Index README says why that is long enough).
- ``manifests`` / ``tags``: upserts on push, deletes on delete (a manifest's tags go with
  it: ``tags.manifest_id`` cascades); ``manifests.registry_id`` is the registry the record
  came from, and a registry's deletes only reach its own records (or those of none).
  ``layers`` is stored as ``[{"digest", "size", "mediaType"}]`` in manifest order (what
  adapters/tags.py reads), the config as ``config_digest`` and ``config_size``, the
  platforms (domain/platforms.py) as ``platforms`` (NULL: not known; the tag page's reads
  fill it in, :meth:`PgContentStore.record_platforms`).
- Each namespace's storage use (``namespace_blobs``, ``namespace_usage``) follows every
  insert, change and delete of ``manifests`` by itself: triggers of migration 0016 count the
  references of the rows changed (adapters/quotas.py reads the result).
- pull and push counters on ``repositories``, ``manifests`` and ``tags``.

The read side for the JSON API is adapters/tags.py; the /v1/ handshake reads here too
(:meth:`PgContentStore.layer_checksums`).
"""

from __future__ import annotations

from datetime import datetime

from psycopg2.extras import Json

from ..domain.platforms import ImagePlatform, to_record
from .base import Store


class PgContentStore(Store):
    # -- processed events ---------------------------------------------------------------------

    def claim_event(self, event_id: str, registry_id: int, action: str) -> bool:
        """Record ``event_id`` as processed; False when it was processed before."""
        row = self._one(
            "INSERT INTO processed_events (event_id, registry_id, action) VALUES (%s, %s, %s)"
            " ON CONFLICT (event_id) DO NOTHING RETURNING 1",
            (event_id, registry_id, action),
        )
        return row is not None

    def prune_events(self, retention_seconds: int, limit: int) -> int:
        """Forget up to ``limit`` event ids processed more than ``retention_seconds`` ago;
        return how many were forgotten."""
        return self._exec(
            "DELETE FROM processed_events WHERE ctid = ANY(ARRAY(SELECT ctid"
            " FROM processed_events WHERE processed_at < now() - make_interval(secs => %(keep)s)"
            " LIMIT %(limit)s)) AND processed_at < now() - make_interval(secs => %(keep)s)",
            {"keep": retention_seconds, "limit": limit},
        )

    def count_old_events(self, retention_seconds: int) -> int:
        """How many event ids :meth:`prune_events` would forget in all."""
        row = self._one(
            "SELECT count(*) FROM processed_events"
            " WHERE processed_at < now() - make_interval(secs => %s)",
            (retention_seconds,),
        )
        return int(row[0])

    # -- manifests and tags ---------------------------------------------------------------------

    def put_manifest(
        self,
        repository_id: int,
        digest: str,
        *,
        media_type: str,
        size: int,
        config_digest: str | None,
        layers: list[dict],
        pushed_by: str,
        pushed_at: datetime,
        registry_id: int | None,
        config_size: int | None = None,
        platforms: tuple[ImagePlatform, ...] | None = None,
    ) -> int:
        """Insert or refresh a manifest record; return its id.

        A re-push keeps the pull count; layers/config/platforms are only replaced by known
        values (an event without references does not erase what an earlier one recorded).
        """
        row = self._one(
            "INSERT INTO manifests AS m (repository_id, digest, media_type, size, config_digest,"
            " config_size, layers, pushed_by, pushed_at, registry_id, platforms) VALUES (%s, %s,"
            " %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (repository_id, digest) DO UPDATE SET"
            " media_type = coalesce(nullif(EXCLUDED.media_type, ''), m.media_type),"
            " size = greatest(EXCLUDED.size, m.size),"
            " config_digest = coalesce(EXCLUDED.config_digest, m.config_digest),"
            " config_size = CASE WHEN EXCLUDED.config_digest IS NULL THEN m.config_size"
            " ELSE EXCLUDED.config_size END,"
            " layers = CASE WHEN EXCLUDED.layers = '[]'::jsonb THEN m.layers"
            " ELSE EXCLUDED.layers END,"
            " pushed_by = EXCLUDED.pushed_by, pushed_at = EXCLUDED.pushed_at,"
            " registry_id = coalesce(EXCLUDED.registry_id, m.registry_id),"
            " platforms = coalesce(EXCLUDED.platforms, m.platforms) RETURNING m.id",
            (
                repository_id,
                digest,
                media_type,
                size,
                config_digest,
                config_size,
                Json(layers),
                pushed_by,
                pushed_at,
                registry_id,
                None if platforms is None else Json(to_record(platforms)),
            ),
        )
        return int(row[0])

    def record_platforms(
        self,
        repository_id: int,
        platforms: tuple[ImagePlatform, ...],
        *,
        digest: str | None = None,
        config_digest: str | None = None,
    ) -> None:
        """Record the platforms of the manifest ``digest`` (an index whose document the
        Index read), or of the manifests whose config is ``config_digest`` (read from that
        config) whose platforms are not known yet."""
        self._exec(
            "UPDATE manifests SET platforms = %(platforms)s WHERE repository_id = %(repo)s"
            " AND (digest = %(digest)s OR (config_digest = %(config)s AND platforms IS NULL))"
            " AND platforms IS DISTINCT FROM %(platforms)s",
            {
                "platforms": Json(to_record(platforms)),
                "repo": repository_id,
                "digest": digest,
                "config": config_digest,
            },
        )

    def put_tag(
        self,
        repository_id: int,
        name: str,
        manifest_id: int,
        *,
        pushed_by: str,
        pushed_at: datetime,
    ) -> None:
        """Point tag ``name`` at a manifest (a moved tag keeps its pull count)."""
        self._exec(
            "INSERT INTO tags (repository_id, name, manifest_id, pushed_by, pushed_at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (repository_id, name) DO UPDATE SET"
            " manifest_id = EXCLUDED.manifest_id, pushed_by = EXCLUDED.pushed_by,"
            " pushed_at = EXCLUDED.pushed_at",
            (repository_id, name, manifest_id, pushed_by, pushed_at),
        )

    def delete_manifest(
        self, repository_id: int, digest: str, *, registry_id: int | None = None
    ) -> list[str] | None:
        """Delete a manifest record and (by cascade) the tags pointing at it; with
        ``registry_id``, only if the manifest came from that registry or from none. Return
        those tags' names (read in the statement's snapshot, before the cascade), or None
        when no manifest was deleted."""
        rows = self._all(
            "WITH gone AS (DELETE FROM manifests WHERE repository_id = %(repo)s"
            " AND digest = %(digest)s AND (%(registry)s::bigint IS NULL"
            " OR registry_id IS NULL OR registry_id = %(registry)s) RETURNING id)"
            " SELECT gone.id, t.name FROM gone LEFT JOIN tags t ON t.manifest_id = gone.id"
            " ORDER BY t.name",
            {"repo": repository_id, "digest": digest, "registry": registry_id},
        )
        if not rows:
            return None
        return [name for _, name in rows if name is not None]

    def delete_tag(self, repository_id: int, name: str, *, registry_id: int | None = None) -> bool:
        """Delete a tag; with ``registry_id``, only if its manifest came from that registry
        or from none."""
        return bool(
            self._exec(
                "DELETE FROM tags t WHERE t.repository_id = %(repo)s AND t.name = %(name)s"
                " AND (%(registry)s::bigint IS NULL OR EXISTS (SELECT 1 FROM manifests m"
                " WHERE m.id = t.manifest_id AND (m.registry_id IS NULL"
                " OR m.registry_id = %(registry)s)))",
                {"repo": repository_id, "name": name, "registry": registry_id},
            )
        )

    def delete_registry_content(self, repository_id: int, registry_id: int) -> int:
        """Delete the manifests (and by cascade their tags) of a repository that came from
        a registry; return how many."""
        return self._exec(
            "DELETE FROM manifests WHERE repository_id = %s AND registry_id = %s",
            (repository_id, registry_id),
        )

    # -- counters -------------------------------------------------------------------------------

    def count_push(self, repository_id: int) -> None:
        """One more push of the repository; ``updated_at`` becomes now."""
        self._exec(
            "UPDATE repositories SET push_count = push_count + 1, updated_at = now() WHERE id = %s",
            (repository_id,),
        )

    def count_pull(
        self,
        repository_id: int,
        *,
        tag: str = "",
        digest: str = "",
        at: datetime | None = None,
        count: int = 1,
    ) -> None:
        """``count`` more pulls of the repository, of ``tag`` (if recorded) or else of the
        manifest ``digest`` (if recorded). The tag's ``last_pulled_at`` becomes ``at`` (now
        without it) unless it is later already: the registry's counted pull events may
        arrive out of order."""
        self._exec(
            "UPDATE repositories SET pull_count = pull_count + %s WHERE id = %s",
            (count, repository_id),
        )
        if tag:
            self._exec(
                "UPDATE tags SET pull_count = pull_count + %s,"
                " last_pulled_at = greatest(last_pulled_at, coalesce(%s, now()))"
                " WHERE repository_id = %s AND name = %s",
                (count, at, repository_id, tag),
            )
        if digest:
            self._exec(
                "UPDATE manifests SET pull_count = pull_count + %s"
                " WHERE repository_id = %s AND digest = %s",
                (count, repository_id, digest),
            )

    # -- reads for the /v1/ handshake -------------------------------------------------------------

    def layer_checksums(self, repository_id: int) -> list[tuple[str, str]]:
        """(digest, media type) of the layers of the repository's tagged manifests, oldest
        push first, each digest once."""
        rows = self._all(
            "SELECT l.item->>'digest', coalesce(l.item->>'mediaType', '')"
            " FROM (SELECT DISTINCT ON (m.id) m.id, m.pushed_at, m.layers"
            " FROM manifests m JOIN tags t ON t.manifest_id = m.id"
            " WHERE m.repository_id = %s) tagged"
            " CROSS JOIN LATERAL jsonb_array_elements(tagged.layers) WITH ORDINALITY"
            " AS l(item, n) ORDER BY tagged.pushed_at, tagged.id, l.n",
            (repository_id,),
        )
        seen: dict[str, str] = {}
        for digest, media_type in rows:
            if digest and digest not in seen:
                seen[digest] = media_type
        return list(seen.items())
