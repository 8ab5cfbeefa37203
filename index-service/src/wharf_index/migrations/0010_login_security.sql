-- Sessions that end when credentials change, and failed logins counted per client.
--
-- users.credential_epoch goes up whenever a user's credentials change (password set,
-- changed or reset by an administrator; account disabled). Sessions and refresh tokens
-- carry the value they were made with; a different one ends them.
ALTER TABLE users ADD COLUMN credential_epoch integer NOT NULL DEFAULT 0;

-- Failed logins were counted per account: anyone could lock anyone out, and an unknown
-- name (never counted) answered differently from a real one. They are now counted per
-- (name as given, client address), whether or not the name exists. The name is kept as
-- its SHA-256 (any string a client sends, of bounded width). A row is forgotten at
-- forget_at (INDEX_LOGIN_THROTTLE_MAX_DELAY after its last failure or the end of its
-- lock-out, whichever is later); every recorded failure first deletes forgotten rows.
DROP TABLE login_failures;
CREATE TABLE login_failures (
    name_hash       bytea NOT NULL,
    address         text NOT NULL,
    failures        integer NOT NULL DEFAULT 0,
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz,
    forget_at       timestamptz NOT NULL,
    PRIMARY KEY (name_hash, address)
);
CREATE INDEX login_failures_forget_idx ON login_failures (forget_at);
