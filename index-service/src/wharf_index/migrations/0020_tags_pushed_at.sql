-- The home page's "recently pushed" walks the newest tags first.
CREATE INDEX tags_pushed_at_idx ON tags (pushed_at DESC);
