-- Invitations to sign up (INDEX_SIGNUP=invite): an administrator makes a link holding a
-- random token; whoever opens it before it expires may create one account, once.
--
-- The token itself is never stored: token_hash is HMAC-SHA256 of it (services/invitations.py),
-- so a copy of the database gives no usable link. email, when given, is the address the
-- account must use. An invitation is usable while revoked_at and used_at are NULL and
-- expires_at is in the future; used_by names the account it made (NULL once deleted).
CREATE TABLE invitations (
    id          bigserial PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE,
    email       text,
    created_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    used_at     timestamptz,
    used_by     bigint REFERENCES users (id) ON DELETE SET NULL,
    CHECK (expires_at > created_at),
    CHECK (used_by IS NULL OR used_at IS NOT NULL)
);
CREATE INDEX invitations_created_idx ON invitations (created_at DESC, id DESC);
