-- Whether a registry filters its catalog, listing each holder of registry:catalog:* only the
-- names it may pull: the Index grants that scope to non-administrators only for those
-- (services/tokens.py). A Wharf registry filters; the reference registry lists every name.
--   catalog: the administrator's word (registry add/update --catalog): 'auto' (decided by
--            wharf_since), 'filtered' or 'unfiltered'.
--   wharf_since: when the registry first called an endpoint only Wharf's registry calls
--            (token verification, the catalog question) with its credential; set once.
ALTER TABLE registries
    ADD COLUMN catalog text NOT NULL DEFAULT 'auto'
        CHECK (catalog IN ('auto', 'filtered', 'unfiltered')),
    ADD COLUMN wharf_since timestamptz;
