-- When did each registry last send an event the Index applied? The administration page
-- asks max(processed_at) per registry; this index answers it with one probe per registry
-- instead of a scan of every remembered event id.
CREATE INDEX processed_events_registry_idx ON processed_events (registry_id, processed_at);
