-- Each repository's star count, kept by triggers, and the platforms of each manifest record.
--
-- star_counts holds, per repository, the number of rows of ``stars`` naming it (every star
-- counts, a disabled user's too, as counting the rows did before; no row: 0). It is a table
-- of its own rather than a column of ``repositories``: an index on such a column would make
-- every star's update of a repository row a non-HOT update, writing its name's and
-- description's trigrams into the search indexes again each time.
--
-- Statement triggers on ``stars`` keep it, so every path that adds or removes stars (star,
-- unstar, a user's deletion cascading to their stars) keeps it true in the same
-- transaction: one write per repository a statement touched, in id order (two statements
-- touching several lock them in the same order). The upsert / UPDATE takes the count row's
-- lock, so concurrent stars of one repository queue on it and each adds to the value the
-- previous one committed (READ COMMITTED re-reads the row). A repository's deletion takes
-- its count row along (cascade); its stars' removal then finds nothing to lower.
--
-- The triggers exist before the backfill: creating them locks ``stars`` against writes until
-- this transaction commits, so no star can slip between the count and the triggers.
CREATE TABLE star_counts (
    repository_id bigint PRIMARY KEY REFERENCES repositories (id) ON DELETE CASCADE,
    star_count    bigint NOT NULL DEFAULT 0
);
-- The home page's "most starred" walks it from the top (adapters/explore.py).
CREATE INDEX star_counts_most_idx ON star_counts (star_count DESC) WHERE star_count > 0;

CREATE FUNCTION stars_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    change record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        FOR change IN SELECT repository_id, count(*) AS delta FROM removed
                       GROUP BY repository_id ORDER BY repository_id LOOP
            UPDATE star_counts SET star_count = star_count - change.delta
             WHERE repository_id = change.repository_id;
        END LOOP;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        FOR change IN SELECT repository_id, count(*) AS delta FROM added
                       GROUP BY repository_id ORDER BY repository_id LOOP
            INSERT INTO star_counts AS c (repository_id, star_count)
            VALUES (change.repository_id, change.delta)
            ON CONFLICT (repository_id) DO UPDATE SET star_count = c.star_count + EXCLUDED.star_count;
        END LOOP;
        RETURN NULL;
    END IF;
    FOR change IN  -- UPDATE: a star moved from one repository to another
        SELECT repository_id, sum(delta) AS delta
          FROM (SELECT repository_id, 1 AS delta FROM added
                UNION ALL SELECT repository_id, -1 FROM removed) moved
         GROUP BY repository_id HAVING sum(delta) <> 0 ORDER BY repository_id
    LOOP
        INSERT INTO star_counts AS c (repository_id, star_count)
        VALUES (change.repository_id, change.delta)
        ON CONFLICT (repository_id) DO UPDATE SET star_count = c.star_count + EXCLUDED.star_count;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER stars_count_insert AFTER INSERT ON stars REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION stars_count_change();
CREATE TRIGGER stars_count_delete AFTER DELETE ON stars REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION stars_count_change();
CREATE TRIGGER stars_count_update AFTER UPDATE ON stars
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION stars_count_change();

INSERT INTO star_counts (repository_id, star_count)
SELECT repository_id, count(*) FROM stars GROUP BY repository_id;

-- What the tags table shows of a manifest: the platforms it runs on, as
-- [{"os", "architecture", "variant"}] ("variant" may be ""). NULL: not known. An index's
-- come from its push event (each child's ``platform``, which the reference registry and
-- Wharf's put on an index's references) or from the index document once the Index keeps it
-- (image_documents); a single image's from its config once that is kept. Children without
-- a platform, or with os "unknown" (build attestations), are left out: [] is possible.
ALTER TABLE manifests ADD COLUMN platforms jsonb;

-- Backfill from the documents kept so far. A document that is not the JSON expected is
-- skipped (the column stays NULL), never an error.
CREATE FUNCTION pg_temp.document_platforms(kind text, body bytea) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    parsed jsonb;
BEGIN
    BEGIN
        parsed := convert_from(body, 'UTF8')::jsonb;
    EXCEPTION WHEN others THEN
        RETURN NULL;
    END;
    IF jsonb_typeof(parsed) <> 'object' THEN
        RETURN NULL;
    END IF;
    IF kind = 'config' THEN
        IF jsonb_typeof(parsed -> 'os') IS DISTINCT FROM 'string'
           OR jsonb_typeof(parsed -> 'architecture') IS DISTINCT FROM 'string'
           OR parsed ->> 'os' IN ('', 'unknown') THEN
            RETURN '[]'::jsonb;
        END IF;
        RETURN jsonb_build_array(jsonb_build_object(
            'os', parsed ->> 'os', 'architecture', parsed ->> 'architecture',
            'variant', CASE WHEN jsonb_typeof(parsed -> 'variant') = 'string'
                            THEN parsed ->> 'variant' ELSE '' END));
    END IF;
    IF jsonb_typeof(parsed -> 'manifests') IS DISTINCT FROM 'array' THEN
        RETURN NULL;
    END IF;
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'os', p ->> 'os', 'architecture', p ->> 'architecture',
                   'variant', CASE WHEN jsonb_typeof(p -> 'variant') = 'string'
                                   THEN p ->> 'variant' ELSE '' END) ORDER BY n)
          FROM jsonb_array_elements(parsed -> 'manifests') WITH ORDINALITY AS e(item, n),
               LATERAL (SELECT CASE WHEN jsonb_typeof(item) = 'object'
                                     AND jsonb_typeof(item -> 'platform') = 'object'
                                    THEN item -> 'platform' END AS p) platform
         WHERE jsonb_typeof(p -> 'os') = 'string' AND jsonb_typeof(p -> 'architecture') = 'string'
           AND p ->> 'os' NOT IN ('', 'unknown')), '[]'::jsonb);
END
$$;

UPDATE manifests m SET platforms = pg_temp.document_platforms('manifest', d.body)
  FROM image_documents d
 WHERE d.repository_id = m.repository_id AND d.kind = 'manifest' AND d.digest = m.digest;

UPDATE manifests m SET platforms = pg_temp.document_platforms('config', d.body)
  FROM image_documents d
 WHERE m.platforms IS NULL AND m.config_digest IS NOT NULL
   AND d.repository_id = m.repository_id AND d.kind = 'config' AND d.digest = m.config_digest;
