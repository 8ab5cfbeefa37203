-- Which registries hold which repositories: recorded from their manifest-push events and by
-- `registry sync`, removed by their repository-delete events and by a sync that finds the
-- repository gone. The Index names these registries to clients (X-Docker-Endpoints, the
-- API) and calls them to delete a repository. updated_at: the last push or sync that saw
-- the repository there (a sync never removes a holding refreshed after it started).
CREATE TABLE repository_registries (
    repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    registry_id   bigint NOT NULL REFERENCES registries (id) ON DELETE CASCADE,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repository_id, registry_id)
);
CREATE INDEX repository_registries_registry_idx ON repository_registries (registry_id);

-- What the records already say: a repository is held by every registry a manifest came from.
INSERT INTO repository_registries (repository_id, registry_id)
SELECT DISTINCT repository_id, registry_id FROM manifests WHERE registry_id IS NOT NULL;
