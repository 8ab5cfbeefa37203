-- Storage quotas per namespace (index-service README, "Storage quotas").
--
-- A namespace's use is the bytes of the distinct blobs its repositories' recorded
-- manifests reference: each manifest itself, its config and its layers (an index: its
-- child manifests), each digest counted once per namespace, however many manifests and
-- repositories reference it. It counts references, not storage: a blob goes out of the use
-- when the last recorded manifest referencing it is deleted, whether or not a registry's
-- garbage collection has freed its bytes yet.
--
-- The use is kept here, by triggers on manifests, so every path that changes the records
-- (registry events, registry sync, repository and namespace deletion, and their cascades)
-- keeps it true, and nothing ever sums it over a namespace's content: an insert or delete
-- of manifests adds or removes the references of those rows only.

-- The config's size (the layers carry theirs); NULL for manifests recorded before: 0 bytes.
-- namespace_id: the repository's namespace, copied at insert, so that a delete cascading
-- from the repository (its row already gone) still knows whose use to lower.
ALTER TABLE manifests
    ADD COLUMN config_size bigint CHECK (config_size >= 0),
    ADD COLUMN namespace_id bigint;
UPDATE manifests m SET namespace_id = r.namespace_id FROM repositories r
 WHERE r.id = m.repository_id;
ALTER TABLE manifests ALTER COLUMN namespace_id SET NOT NULL;

-- An administrator's setting. No row: INDEX_DEFAULT_NAMESPACE_QUOTA applies;
-- quota_limit NULL: no quota, whatever the default.
CREATE TABLE namespace_quotas (
    namespace_id bigint PRIMARY KEY REFERENCES namespaces (id) ON DELETE CASCADE,
    quota_limit  bigint CHECK (quota_limit >= 0),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Every distinct blob a namespace's manifests reference, with its number of references
-- (manifest rows naming it); size: the first size recorded for the digest.
CREATE TABLE namespace_blobs (
    namespace_id bigint NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    digest       text NOT NULL,
    size         bigint NOT NULL CHECK (size >= 0),
    refs         bigint NOT NULL,
    PRIMARY KEY (namespace_id, digest)
);

-- The sum of namespace_blobs.size per namespace, kept with it: what tokens carry. numeric:
-- sizes are int64 each (a registry vouches for them), their sum need not be; readers
-- clamp it to int64.
CREATE TABLE namespace_usage (
    namespace_id bigint PRIMARY KEY REFERENCES namespaces (id) ON DELETE CASCADE,
    used         numeric NOT NULL DEFAULT 0
);

-- The blobs one manifest row references, each digest once. Layer sizes that are not
-- int64 numbers (recorded before sizes were checked) count as 0, as the API reads them.
CREATE FUNCTION manifest_blobs(
    digest text, size bigint, config_digest text, config_size bigint, layers jsonb
) RETURNS TABLE (blob text, bytes bigint) LANGUAGE sql IMMUTABLE AS $$
    SELECT b.blob, max(b.bytes)
      FROM (SELECT digest, size
            UNION ALL
            SELECT config_digest, coalesce(config_size, 0) WHERE config_digest IS NOT NULL
            UNION ALL
            SELECT l->>'digest',
                   CASE WHEN jsonb_typeof(l->'size') = 'number'
                             AND l->>'size' ~ '^[0-9]{1,19}$'
                             AND (l->>'size')::numeric <= 9223372036854775807
                        THEN (l->>'size')::bigint ELSE 0 END
              FROM jsonb_array_elements(
                       CASE WHEN jsonb_typeof(layers) = 'array' THEN layers ELSE '[]' END) l
           ) b (blob, bytes)
     WHERE b.blob IS NOT NULL AND b.blob <> ''
     GROUP BY b.blob
$$;

CREATE TYPE blob_delta AS (namespace_id bigint, digest text, size bigint, refs bigint);

-- Apply reference count changes (one per namespace and digest; refs > 0 adds references,
-- < 0 removes them) to namespace_blobs and namespace_usage. The namespaces' usage rows are
-- locked first, in order: every change to a namespace's blobs holds that lock, so two
-- transactions changing one namespace's references queue on one row and never deadlock on
-- its blobs.
CREATE FUNCTION apply_blob_deltas(deltas blob_delta[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(cardinality(deltas), 0) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO namespace_usage (namespace_id)
    SELECT DISTINCT d.namespace_id FROM unnest(deltas) d WHERE d.refs > 0 ORDER BY 1
        ON CONFLICT (namespace_id) DO NOTHING;
    PERFORM 1 FROM namespace_usage u
      WHERE u.namespace_id IN (SELECT d.namespace_id FROM unnest(deltas) d)
      ORDER BY u.namespace_id FOR UPDATE;

    -- New references: a blob whose count is now exactly the references added is new.
    WITH d AS (SELECT * FROM unnest(deltas) WHERE refs > 0),
         up AS (INSERT INTO namespace_blobs AS b (namespace_id, digest, size, refs)
                SELECT d.namespace_id, d.digest, d.size, d.refs FROM d
                 ORDER BY d.namespace_id, d.digest
                    ON CONFLICT (namespace_id, digest) DO UPDATE SET refs = b.refs + EXCLUDED.refs
                RETURNING b.namespace_id, b.digest, b.size, b.refs),
         added AS (SELECT up.namespace_id, sum(up.size) AS bytes
                     FROM up JOIN d ON d.namespace_id = up.namespace_id AND d.digest = up.digest
                    WHERE up.refs = d.refs GROUP BY up.namespace_id)
    UPDATE namespace_usage u SET used = u.used + added.bytes
      FROM added WHERE u.namespace_id = added.namespace_id;

    -- Removed references: a blob left with none leaves the use.
    WITH d AS (SELECT * FROM unnest(deltas) WHERE refs < 0),
         down AS (UPDATE namespace_blobs b SET refs = b.refs + d.refs FROM d
                   WHERE b.namespace_id = d.namespace_id AND b.digest = d.digest
                  RETURNING b.namespace_id, b.size, b.refs),
         gone AS (SELECT namespace_id, sum(size) AS bytes FROM down WHERE refs <= 0
                   GROUP BY namespace_id)
    UPDATE namespace_usage u SET used = u.used - gone.bytes
      FROM gone WHERE u.namespace_id = gone.namespace_id;
    DELETE FROM namespace_blobs b USING unnest(deltas) d
     WHERE d.refs < 0 AND b.namespace_id = d.namespace_id AND b.digest = d.digest
       AND b.refs <= 0;
END
$$;

CREATE FUNCTION manifests_set_namespace() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.namespace_id IS NULL THEN
        SELECT r.namespace_id INTO NEW.namespace_id FROM repositories r
         WHERE r.id = NEW.repository_id;
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION manifests_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM apply_blob_deltas(ARRAY(
        SELECT ROW(n.namespace_id, b.blob, max(b.bytes), count(*))::blob_delta
          FROM new_rows n
         CROSS JOIN LATERAL manifest_blobs(n.digest, n.size, n.config_digest, n.config_size,
                                           n.layers) b
         GROUP BY n.namespace_id, b.blob));
    RETURN NULL;
END
$$;

CREATE FUNCTION manifests_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM apply_blob_deltas(ARRAY(
        SELECT ROW(o.namespace_id, b.blob, max(b.bytes), -count(*))::blob_delta
          FROM old_rows o
         CROSS JOIN LATERAL manifest_blobs(o.digest, o.size, o.config_digest, o.config_size,
                                           o.layers) b
         GROUP BY o.namespace_id, b.blob));
    RETURN NULL;
END
$$;

-- An upsert that changes what a manifest row references (a re-push with layers where there
-- were none, a larger size): the difference only.
CREATE FUNCTION manifests_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM apply_blob_deltas(ARRAY(
        SELECT ROW(c.namespace_id, c.blob, max(c.bytes), sum(c.refs))::blob_delta
          FROM (SELECT NEW.namespace_id, b.blob, b.bytes, 1
                  FROM manifest_blobs(NEW.digest, NEW.size, NEW.config_digest, NEW.config_size,
                                      NEW.layers) b
                UNION ALL
                SELECT OLD.namespace_id, b.blob, b.bytes, -1
                  FROM manifest_blobs(OLD.digest, OLD.size, OLD.config_digest, OLD.config_size,
                                      OLD.layers) b) c (namespace_id, blob, bytes, refs)
         GROUP BY c.namespace_id, c.blob HAVING sum(c.refs) <> 0));
    RETURN NULL;
END
$$;

-- What the manifests recorded so far reference.
INSERT INTO namespace_blobs (namespace_id, digest, size, refs)
SELECT m.namespace_id, b.blob, max(b.bytes), count(*)
  FROM manifests m
 CROSS JOIN LATERAL manifest_blobs(m.digest, m.size, m.config_digest, m.config_size, m.layers) b
 GROUP BY m.namespace_id, b.blob;
INSERT INTO namespace_usage (namespace_id, used)
SELECT namespace_id, sum(size) FROM namespace_blobs GROUP BY namespace_id;

CREATE TRIGGER manifests_set_namespace BEFORE INSERT ON manifests
    FOR EACH ROW EXECUTE FUNCTION manifests_set_namespace();
CREATE TRIGGER manifests_count_inserted AFTER INSERT ON manifests
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION manifests_count_inserted();
CREATE TRIGGER manifests_count_deleted AFTER DELETE ON manifests
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION manifests_count_deleted();
CREATE TRIGGER manifests_count_updated AFTER UPDATE ON manifests
    FOR EACH ROW
    WHEN (OLD.digest IS DISTINCT FROM NEW.digest OR OLD.size IS DISTINCT FROM NEW.size
          OR OLD.config_digest IS DISTINCT FROM NEW.config_digest
          OR OLD.config_size IS DISTINCT FROM NEW.config_size
          OR OLD.layers IS DISTINCT FROM NEW.layers
          OR OLD.namespace_id IS DISTINCT FROM NEW.namespace_id)
    EXECUTE FUNCTION manifests_count_updated();
