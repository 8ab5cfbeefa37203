-- Star counts kept on repositories, and the platforms of each manifest record.
--
-- repositories.star_count is the number of rows of ``stars`` naming the repository (every
-- star counts, a disabled user's too, as counting the rows did before). A trigger on
-- ``stars`` keeps it, so every path that adds or removes stars (star, unstar, a user's
-- deletion cascading to their stars) keeps it true in the same transaction. The UPDATE
-- takes the repository row's lock, so concurrent stars of one repository queue on it and
-- each adds to the value the previous one committed (READ COMMITTED re-reads the row). A
-- star removed by a repository's own deletion finds its row already gone: nothing to do.
--
-- Order matters for the backfill: adding the column locks ``repositories`` and creating the
-- trigger locks ``stars`` against writes until this transaction commits, so no star can
-- slip between the count and the trigger.
ALTER TABLE repositories ADD COLUMN star_count bigint NOT NULL DEFAULT 0;

CREATE FUNCTION stars_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE repositories SET star_count = star_count + 1 WHERE id = NEW.repository_id;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE repositories SET star_count = star_count - 1 WHERE id = OLD.repository_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER stars_count AFTER INSERT OR DELETE OR UPDATE OF repository_id ON stars
    FOR EACH ROW EXECUTE FUNCTION stars_count_change();

UPDATE repositories r SET star_count = s.n
  FROM (SELECT repository_id, count(*) AS n FROM stars GROUP BY repository_id) s
 WHERE r.id = s.repository_id;

-- The home page's "most starred": public, active, starred repositories by stars then name,
-- read from the head of this index (adapters/explore.py).
CREATE INDEX repositories_most_starred_idx ON repositories (star_count DESC, full_name)
    WHERE visibility = 'public' AND status = 'active' AND star_count > 0;

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
