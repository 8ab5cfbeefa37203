-- Pull rate limits (domain/pull_limits.py): manifest pulls counted per subject and window.
--
-- subject is 'user:<name>' (an account) or 'addr:<address>' (an anonymous client: an IPv4
-- address or an IPv6 /64). A window is fixed: window_start is a multiple of window_seconds
-- (Unix time), window_end = window_start + window_seconds. Applying a registry's pull
-- events adds to the row (one upsert per subject and window per envelope, in its
-- transaction); issuing a token reads one row; housekeeping deletes rows whose window ended.
-- window_seconds is part of the key, so a changed INDEX_PULL_LIMIT_* window starts afresh.
CREATE TABLE pull_counts (
    subject        text NOT NULL,
    window_seconds integer NOT NULL CHECK (window_seconds > 0),
    window_start   timestamptz NOT NULL,
    window_end     timestamptz NOT NULL,
    pulls          bigint NOT NULL CHECK (pulls >= 0),
    PRIMARY KEY (subject, window_seconds, window_start)
);

CREATE INDEX pull_counts_window_end ON pull_counts (window_end);
