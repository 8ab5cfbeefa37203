-- Access tokens (personal and robot), registries and the tokens the Index issued.

-- A token is shown once as "wharf_pat_<public_id>_<secret>"; only an HMAC-SHA256 of the
-- secret is kept. scopes: [{"repository": "<name or pattern>", "actions": ["pull", ...]}];
-- an empty list grants nothing.
CREATE TABLE access_tokens (
    id           bigserial PRIMARY KEY,
    public_id    text NOT NULL UNIQUE,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    secret_hash  bytea NOT NULL,
    scopes       jsonb NOT NULL DEFAULT '[]',
    created_by   bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX access_tokens_user_idx ON access_tokens (user_id);

-- A registry known to the Index; its name is the token audience ("service").
CREATE TABLE registries (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE
                    CHECK (length(name) <= 253 AND name ~ '^[a-z0-9]([a-z0-9._:-]*[a-z0-9])?$'),
    url             text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('private', 'sponsor', 'mirror', 'vendor')),
    credential_hash bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Which namespaces a registry serves (a namespace may be declared before it exists).
CREATE TABLE registry_namespaces (
    registry_id bigint NOT NULL REFERENCES registries (id) ON DELETE CASCADE,
    namespace   text NOT NULL,
    PRIMARY KEY (registry_id, namespace)
);
CREATE INDEX registry_namespaces_namespace_idx ON registry_namespaces (namespace);

-- Every token the Index issued, for "genuine and not revoked" checks. kind 'access' is a
-- registry bearer token, 'refresh' an OAuth2 refresh (identity) token.
CREATE TABLE issued_tokens (
    jti             text PRIMARY KEY,
    kind            text NOT NULL DEFAULT 'access' CHECK (kind IN ('access', 'refresh')),
    subject         text NOT NULL DEFAULT '',
    user_id         bigint REFERENCES users (id) ON DELETE CASCADE,
    access_token_id bigint REFERENCES access_tokens (id) ON DELETE CASCADE,
    audience        text NOT NULL,
    access          jsonb NOT NULL DEFAULT '[]',
    issued_at       timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);
CREATE INDEX issued_tokens_expires_idx ON issued_tokens (expires_at);
CREATE INDEX issued_tokens_user_idx ON issued_tokens (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX issued_tokens_access_token_idx ON issued_tokens (access_token_id)
    WHERE access_token_id IS NOT NULL;
