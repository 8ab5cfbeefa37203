-- Webhooks on a repository or on a whole namespace, their delivery queue and delivery log
-- (services/webhooks.py manages and enqueues, services/webhook_worker.py delivers).
-- 0005's two webhook tables were never written by any code; they are replaced.
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;

-- Scope: repository_name NULL is a namespace webhook (every repository of namespace_id);
-- repository_name set is a repository webhook. When its repository is deleted the row
-- stays with repository_id NULL (ON DELETE SET NULL) until its queued deliveries (the
-- repository_deleted event among them) are sent; housekeeping removes it afterwards.
-- secret_sealed is the signing secret sealed with a key derived from INDEX_SECRET_KEY
-- (services/secret_box.py): the HMAC needs the secret itself, a dump alone does not hold it.
-- After INDEX_WEBHOOK_MAX_FAILURES attempts failed in a row the worker sets active = false
-- and says why in disabled_reason; a person re-enables it.
CREATE TABLE webhooks (
    id                   bigserial PRIMARY KEY,
    namespace_id         bigint NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    repository_id        bigint REFERENCES repositories (id) ON DELETE SET NULL,
    repository_name      text,
    name                 text NOT NULL DEFAULT '',
    url                  text NOT NULL CHECK (url ~ '^https?://'),
    format               text NOT NULL DEFAULT 'dockerhub'
                         CHECK (format IN ('dockerhub', 'cloudevents')),
    events               text[] NOT NULL
                         CHECK (cardinality(events) > 0 AND events <@
                                ARRAY['tag_pushed', 'tag_deleted', 'repository_deleted']),
    tag_pattern          text NOT NULL DEFAULT '',
    secret_sealed        text NOT NULL,
    active               boolean NOT NULL DEFAULT true,
    disabled_reason      text NOT NULL DEFAULT '',
    consecutive_failures integer NOT NULL DEFAULT 0,
    created_by           bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (repository_id IS NULL OR repository_name IS NOT NULL)
);
CREATE INDEX webhooks_namespace_idx ON webhooks (namespace_id) WHERE repository_name IS NULL;
CREATE INDEX webhooks_repository_idx ON webhooks (repository_id);

-- The queue, filled in the transaction that applies the registry's event. Each webhook's
-- deliveries go out in id order: a worker locks the webhook row (FOR NO KEY UPDATE SKIP
-- LOCKED, which leaves new deliveries' foreign-key checks unblocked),
-- sends its oldest pending delivery when next_attempt_at is due, and records the attempt,
-- all in that transaction, so a worker killed mid-delivery leaves the row pending for the
-- next one (the same delivery_id: receivers deduplicate on it). body is the exact JSON
-- sent (signed as sent; a redelivery sends the same bytes). callback_token is the secret
-- part of the payload's callback_url, where a receiver may POST its result.
CREATE TABLE webhook_deliveries (
    id                   bigserial PRIMARY KEY,
    delivery_id          uuid NOT NULL UNIQUE,
    webhook_id           bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event                text NOT NULL
                         CHECK (event IN ('tag_pushed', 'tag_deleted', 'repository_deleted',
                                          'ping')),
    body                 text NOT NULL,
    status               text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts             integer NOT NULL DEFAULT 0,
    next_attempt_at      timestamptz NOT NULL DEFAULT now(),
    created_at           timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz,
    callback_token       text NOT NULL UNIQUE,
    callback_state       text CHECK (callback_state IN ('success', 'failure', 'error')),
    callback_description text NOT NULL DEFAULT '',
    callback_context     text NOT NULL DEFAULT '',
    callback_target_url  text NOT NULL DEFAULT '',
    callback_at          timestamptz
);
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (webhook_id, id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id DESC);
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (finished_at)
    WHERE status <> 'pending';

-- The delivery log: one row per attempt (response holds the first 2 KiB of the answer).
CREATE TABLE webhook_attempts (
    id          bigserial PRIMARY KEY,
    delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     integer NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    status_code integer,
    duration_ms integer NOT NULL,
    error       text NOT NULL DEFAULT '',
    response    text NOT NULL DEFAULT '',
    UNIQUE (delivery_id, attempt)
);
