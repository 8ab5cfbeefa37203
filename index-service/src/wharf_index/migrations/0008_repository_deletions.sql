-- Scenario C bookkeeping: one row per repository whose deletion was requested (status
-- 'deleting'); it goes with the repository (cascade) once every record is removed.
--
-- next_attempt_at is a lease: whoever drives the deletion (the API request, `wharf-index
-- repo redrive`, the Index's redrive thread) first moves it into the future with a
-- conditional UPDATE, so two workers do not call the registries at once; after a failed
-- attempt it is set to now (due at the next redrive). attempts/last_error say why a
-- deletion is stuck.
CREATE TABLE repository_deletions (
    repository_id   bigint PRIMARY KEY REFERENCES repositories (id) ON DELETE CASCADE,
    requested_by    text NOT NULL DEFAULT '',
    requested_at    timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    last_attempt_at timestamptz,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX repository_deletions_due_idx ON repository_deletions (next_attempt_at);
