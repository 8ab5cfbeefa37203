-- Search speed: the trigram indexes of 0006 without GIN's pending list.
--
-- With fastupdate (the default) new entries wait in an unsorted pending list (up to
-- gin_pending_list_limit, 4 MB) until a vacuum merges them; every search scans that list
-- linearly, and the planner, charging for it, turns to a sequential scan that computes a
-- trigram similarity for every repository (~250 ms at 100,000 repositories, measured
-- right after a bulk insert). Repositories are created rarely and searched often, so
-- entries go into the index at insert time, and what is pending now is merged.

ALTER INDEX repositories_full_name_trgm_idx SET (fastupdate = off);
ALTER INDEX repositories_description_trgm_idx SET (fastupdate = off);
SELECT gin_clean_pending_list('repositories_full_name_trgm_idx'::regclass);
SELECT gin_clean_pending_list('repositories_description_trgm_idx'::regclass);
