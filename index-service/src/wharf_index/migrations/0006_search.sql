-- Search over repository names and descriptions: trigram indexes (pg_trgm, a trusted
-- extension since PostgreSQL 13, so the database owner may create it) serve
-- "full_name ILIKE '%q%' OR description ILIKE '%q%'" and similarity ranking.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX repositories_full_name_trgm_idx ON repositories USING gin (full_name gin_trgm_ops);
CREATE INDEX repositories_description_trgm_idx ON repositories
    USING gin (description gin_trgm_ops);
