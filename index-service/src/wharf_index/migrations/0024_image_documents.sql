-- Documents the tag page reads from the registry holding a repository, kept so that the
-- page does not ask the registry on every view: manifests (an index's children, or a
-- manifest whose JSON the events did not carry), image configs, and referrers lists.
-- Manifests and configs are content-addressed (immutable: ``digest`` names the bytes);
-- a referrers list (kind 'referrers', keyed by its subject's digest) changes when a
-- signature or SBOM is pushed, so its ``fetched_at`` says when to ask again. Rows belong
-- to one repository (referrers are per repository) and go with it.
CREATE TABLE image_documents (
    repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('manifest', 'config', 'referrers')),
    digest        text NOT NULL CHECK (digest ~ '^sha(256:[a-f0-9]{64}|512:[a-f0-9]{128})$'),
    media_type    text NOT NULL DEFAULT '',
    body          bytea NOT NULL,
    fetched_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repository_id, kind, digest)
);
