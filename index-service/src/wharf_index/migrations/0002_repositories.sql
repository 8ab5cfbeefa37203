-- Repositories, collaborators, team grants, stars, comments.
--
-- A repository's full name is namespaces.name || '/' || repositories.name; "name" is the
-- rest of the path (it may itself contain '/'). full_name is stored too (namespaces are never
-- renamed): one unique index answers lookups by the name clients send, and search uses it. status 'deleting' marks a repository whose
-- deletion was requested and whose records are removed once the registry confirmed.

CREATE TABLE repositories (
    id           bigserial PRIMARY KEY,
    namespace_id bigint NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    name         text NOT NULL
                 CHECK (length(name) <= 255
                        AND name ~ '^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$'),
    full_name    text NOT NULL UNIQUE CHECK (length(full_name) <= 255),
    visibility   text NOT NULL CHECK (visibility IN ('public', 'private')),
    description  text NOT NULL DEFAULT '',
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deleting')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    push_count   bigint NOT NULL DEFAULT 0,
    pull_count   bigint NOT NULL DEFAULT 0,
    UNIQUE (namespace_id, name)
);
CREATE INDEX repositories_public_idx ON repositories (id) WHERE visibility = 'public';

CREATE TABLE team_repositories (
    team_id       bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, repository_id)
);
CREATE INDEX team_repositories_repository_idx ON team_repositories (repository_id);

CREATE TABLE collaborators (
    repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role          text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    added_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repository_id, user_id)
);
CREATE INDEX collaborators_user_idx ON collaborators (user_id);

CREATE TABLE stars (
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, repository_id)
);
CREATE INDEX stars_repository_idx ON stars (repository_id);

CREATE TABLE comments (
    id            bigserial PRIMARY KEY,
    repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    author_id     bigint REFERENCES users (id) ON DELETE SET NULL,
    body          text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_repository_idx ON comments (repository_id, created_at, id);
