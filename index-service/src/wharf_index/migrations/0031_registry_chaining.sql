-- Several registries for one repository (index-service README, "Chaining and load
-- balancing"): mirrors, weights, the rotation and namespace routes.
--
--   weight: the registry's share of first places in the rotation the Index hands clients
--           (X-Docker-Endpoints, the API); 0 keeps it listed but never first while a
--           registry of positive weight is listed.
--   upstream_id: the registry this one mirrors (registry add/update --upstream). A mirror
--           serves the repositories its upstream holds (or mirrors), within the namespaces
--           it serves itself. Removing the upstream ends the mirroring, not the mirror.
ALTER TABLE registries
    ADD COLUMN weight integer NOT NULL DEFAULT 1 CHECK (weight BETWEEN 0 AND 100),
    ADD COLUMN upstream_id bigint REFERENCES registries (id) ON DELETE SET NULL,
    ADD CONSTRAINT registries_upstream_not_self CHECK (upstream_id <> id);
CREATE INDEX registries_upstream_idx ON registries (upstream_id) WHERE upstream_id IS NOT NULL;

-- The rotation's position per repository: each handout takes the next turn, so every
-- Index process hands out the same smooth weighted round robin sequence.
CREATE TABLE registry_turns (
    repository_id bigint PRIMARY KEY REFERENCES repositories (id) ON DELETE CASCADE,
    turn          bigint NOT NULL DEFAULT 0 CHECK (turn >= 0)
);

-- Where the Index expects pushes of a namespace: its registries in order (position 0 first).
-- A namespace may be routed before it exists, as registry_namespaces may name it.
CREATE TABLE namespace_routes (
    namespace   text NOT NULL CHECK (length(namespace) BETWEEN 1 AND 255),
    position    integer NOT NULL CHECK (position >= 0),
    registry_id bigint NOT NULL REFERENCES registries (id) ON DELETE CASCADE,
    PRIMARY KEY (namespace, position),
    UNIQUE (namespace, registry_id)
);
CREATE INDEX namespace_routes_registry_idx ON namespace_routes (registry_id);
