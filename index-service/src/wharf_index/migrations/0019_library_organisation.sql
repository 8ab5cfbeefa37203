-- The library organisation: a one-part repository name (HOST/app) is library/app, as on
-- Docker Hub (wharf_protocol.names.full_repository_name; the registry and the token
-- endpoint map it). Made here so that every Index has it, public by default; its owners,
-- the members of its teams with write access, and administrators push there. Nothing is
-- done when the name is already taken (only administrators can take it: domain/names.py).
INSERT INTO namespaces (name, kind, default_visibility)
VALUES ('library', 'org', 'public')
ON CONFLICT (name) DO NOTHING;

INSERT INTO organisations (namespace_id)
SELECT id FROM namespaces WHERE name = 'library' AND kind = 'org'
ON CONFLICT (namespace_id) DO NOTHING;
