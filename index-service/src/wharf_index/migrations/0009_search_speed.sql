-- Search speed: keep GIN's pending list of the trigram indexes (0006) short.
--
-- With fastupdate new entries wait in an unsorted pending list until a vacuum merges
-- them, or until the list exceeds gin_pending_list_limit (4 MB by default). Every search
-- scans that list linearly, and the planner, charging for it, preferred a sequential scan
-- computing a trigram similarity for every repository (~250 ms at 100,000 repositories
-- right after a bulk insert; adapters/search.py now forces the index scans). A 256 kB
-- limit bounds that scan while inserts still go in batches (fastupdate = off made the
-- 100,000-row bulk insert about twice as slow); what is pending now is merged.

ALTER INDEX repositories_full_name_trgm_idx SET (gin_pending_list_limit = 256);
ALTER INDEX repositories_description_trgm_idx SET (gin_pending_list_limit = 256);
SELECT gin_clean_pending_list('repositories_full_name_trgm_idx'::regclass);
SELECT gin_clean_pending_list('repositories_description_trgm_idx'::regclass);
