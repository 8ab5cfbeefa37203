-- Accounts: namespaces, users, robots, login throttling, organisations, teams.
--
-- Every human user and every organisation owns exactly one namespace (the first component
-- of a repository name). Robots are users without a namespace, named "<owner>+<robot>"
-- and owned by a namespace (a user's or an organisation's).

CREATE TABLE namespaces (
    id                 bigserial PRIMARY KEY,
    name               text NOT NULL UNIQUE
                       CHECK (length(name) <= 64
                              AND name ~ '^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$'),
    kind               text NOT NULL CHECK (kind IN ('user', 'org')),
    default_visibility text NOT NULL DEFAULT 'private'
                       CHECK (default_visibility IN ('public', 'private')),
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id                  bigserial PRIMARY KEY,
    username            text NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 130),
    email               text,
    password_hash       text,
    is_admin            boolean NOT NULL DEFAULT false,
    is_robot            boolean NOT NULL DEFAULT false,
    namespace_id        bigint UNIQUE REFERENCES namespaces (id) ON DELETE CASCADE,
    robot_owner_id      bigint REFERENCES namespaces (id) ON DELETE CASCADE,
    disabled            boolean NOT NULL DEFAULT false,
    password_changed_at timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    -- a human owns a namespace and has no robot owner; a robot is the reverse
    CHECK ((is_robot AND namespace_id IS NULL AND robot_owner_id IS NOT NULL
            AND password_hash IS NULL)
        OR (NOT is_robot AND namespace_id IS NOT NULL AND robot_owner_id IS NULL))
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL;
CREATE INDEX users_robot_owner_idx ON users (robot_owner_id) WHERE robot_owner_id IS NOT NULL;

-- Failed-login tracking: consecutive failures and the lock-out window they caused.
CREATE TABLE login_failures (
    user_id         bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    failures        integer NOT NULL DEFAULT 0,
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz
);

CREATE TABLE organisations (
    id           bigserial PRIMARY KEY,
    namespace_id bigint NOT NULL UNIQUE REFERENCES namespaces (id) ON DELETE CASCADE,
    email        text,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Members of an organisation; owners administer it (teams, members, every repository).
CREATE TABLE org_members (
    org_id   bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    is_owner boolean NOT NULL DEFAULT false,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user_idx ON org_members (user_id);

-- Teams grant a role on chosen repositories (team_repositories) or, with
-- all_repositories, on every repository of the organisation (present and future).
CREATE TABLE teams (
    id               bigserial PRIMARY KEY,
    org_id           bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name             text NOT NULL CHECK (name ~ '^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$'
                                          AND length(name) <= 64),
    role             text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    all_repositories boolean NOT NULL DEFAULT false,
    description      text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, name)
);

CREATE TABLE team_members (
    team_id  bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_idx ON team_members (user_id);
