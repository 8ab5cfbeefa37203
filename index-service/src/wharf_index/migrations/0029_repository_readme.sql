-- A repository's README (Docker Hub's "full description"): Markdown shown on the
-- repository page, apart from the short description that lists and search show. Kept out
-- of the trigram indexes on purpose: search matches names and short descriptions only.
-- The services limit it to 100,000 characters; the check is the database's own guard.
-- A constant default makes ADD COLUMN a catalogue change (no table rewrite); the check is
-- added NOT VALID and validated apart, so the scan of existing rows (all '') takes a
-- weaker lock than the ALTER that adds it.
ALTER TABLE repositories ADD COLUMN readme text NOT NULL DEFAULT '';
ALTER TABLE repositories ADD CONSTRAINT repositories_readme_length
    CHECK (length(readme) <= 100000) NOT VALID;
ALTER TABLE repositories VALIDATE CONSTRAINT repositories_readme_length;
