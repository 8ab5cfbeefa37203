-- Webhooks with their delivery queue, and the audit log.

-- secret signs each delivery (HMAC-SHA256 of the body), so it is stored as given.
CREATE TABLE webhooks (
    id            bigserial PRIMARY KEY,
    repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    url           text NOT NULL CHECK (url ~ '^https?://'),
    secret        text NOT NULL,
    events        text[] NOT NULL DEFAULT ARRAY['push', 'delete'],
    active        boolean NOT NULL DEFAULT true,
    created_by    bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_repository_idx ON webhooks (repository_id);

-- The queue: workers take due rows with FOR UPDATE SKIP LOCKED.
CREATE TABLE webhook_deliveries (
    id               bigserial PRIMARY KEY,
    webhook_id       bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event            text NOT NULL,
    payload          jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at);

-- Who did what. Names are copied so entries outlive deleted users and repositories.
CREATE TABLE audit_log (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_id      bigint REFERENCES users (id) ON DELETE SET NULL,
    actor_name    text NOT NULL DEFAULT '',
    action        text NOT NULL,
    target_type   text NOT NULL DEFAULT '',
    target        text NOT NULL DEFAULT '',
    namespace_id  bigint REFERENCES namespaces (id) ON DELETE SET NULL,
    repository_id bigint REFERENCES repositories (id) ON DELETE SET NULL,
    detail        jsonb NOT NULL DEFAULT '{}',
    request_id    text NOT NULL DEFAULT '',
    remote_addr   text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_namespace_idx ON audit_log (namespace_id, at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at DESC);
