-- The record of images, kept from the registries' events.

-- layers: [{"digest": "sha256:...", "size": 123, "mediaType": "..."}] in manifest order.
CREATE TABLE manifests (
    id            bigserial PRIMARY KEY,
    repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    digest        text NOT NULL CHECK (digest ~ '^sha(256:[a-f0-9]{64}|512:[a-f0-9]{128})$'),
    media_type    text NOT NULL DEFAULT '',
    size          bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
    config_digest text,
    layers        jsonb NOT NULL DEFAULT '[]',
    pushed_by     text NOT NULL DEFAULT '',
    pushed_at     timestamptz NOT NULL DEFAULT now(),
    registry_id   bigint REFERENCES registries (id) ON DELETE SET NULL,
    pull_count    bigint NOT NULL DEFAULT 0,
    UNIQUE (repository_id, digest)
);

CREATE TABLE tags (
    repository_id  bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    name           text NOT NULL CHECK (name ~ '^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$'),
    manifest_id    bigint NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
    pushed_by      text NOT NULL DEFAULT '',
    pushed_at      timestamptz NOT NULL DEFAULT now(),
    pull_count     bigint NOT NULL DEFAULT 0,
    last_pulled_at timestamptz,
    PRIMARY KEY (repository_id, name)
);
CREATE INDEX tags_manifest_idx ON tags (manifest_id);

-- Event ids already applied (at-least-once delivery, exactly-once effect).
CREATE TABLE processed_events (
    event_id     text PRIMARY KEY,
    registry_id  bigint REFERENCES registries (id) ON DELETE SET NULL,
    action       text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processed_events_processed_at_idx ON processed_events (processed_at);
