-- Per-repository tag rules (services/tag_rules.py): immutable tag patterns and retention.
--
-- immutable: shell-style tag patterns (wharf_protocol.policy.check_tag_pattern); a tag
-- matching one is never moved to another digest nor deleted, at the registry (the patterns
-- travel in push and delete tokens) and at the Index (tag deletion, retention).
-- keep_newest / keep_patterns / max_age_days: the retention rules (NULL / empty: that rule
-- is not set); a repository without a row, or with no retention rule set, keeps every tag.
CREATE TABLE repository_tag_rules (
    repository_id bigint PRIMARY KEY REFERENCES repositories (id) ON DELETE CASCADE,
    immutable     text[] NOT NULL DEFAULT '{}',
    keep_newest   integer CHECK (keep_newest >= 0),
    keep_patterns text[] NOT NULL DEFAULT '{}',
    max_age_days  integer CHECK (max_age_days >= 1),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
