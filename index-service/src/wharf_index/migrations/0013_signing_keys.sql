-- The token signing keys (services/signing_keys.py): ES256 or RS256 key pairs whose public
-- halves the Index publishes (/.well-known/jwks.json, /.well-known/token-certs.pem).
--
-- private_pem is PKCS#8 PEM encrypted with a password derived from INDEX_SECRET_KEY
-- (HMAC-SHA256 with a fixed label), so a database dump alone signs nothing.
-- retired_at is NULL for the one active (signing) key: the partial unique index makes a
-- second active key impossible, so concurrent starters bootstrapping the first key with
-- INSERT ... ON CONFLICT DO NOTHING end with exactly one. A retired key stays published
-- until published_until (its retirement plus the longest token lifetime and the leeway,
-- fixed when it is retired); pruning deletes it after that.
CREATE TABLE signing_keys (
    kid             text PRIMARY KEY,
    algorithm       text NOT NULL CHECK (algorithm IN ('ES256', 'RS256')),
    private_pem     text NOT NULL,
    certificate_pem text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    retired_at      timestamptz,
    published_until timestamptz,
    CHECK ((retired_at IS NULL) = (published_until IS NULL))
);

CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE retired_at IS NULL;
