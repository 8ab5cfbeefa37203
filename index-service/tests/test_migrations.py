"""``wharf-index migrate``: ordered, recorded, idempotent, transactional, concurrency-safe."""

from __future__ import annotations

import json
import threading

import psycopg2
import pytest
from wharf_index.adapters import migrations

pytestmark = pytest.mark.db


def _versions(url):
    conn = psycopg2.connect(url)
    try:
        return migrations.applied_versions(conn)
    finally:
        conn.close()


def test_discover_finds_numbered_files_in_order():
    found = migrations.discover()
    assert [m.version for m in found] == sorted(m.version for m in found)
    assert found[0].name.startswith("0001_")
    assert len({m.version for m in found}) == len(found)


def test_migrate_applies_all_then_nothing(postgres_database):
    url = postgres_database()
    applied = migrations.migrate(url)
    assert [m.version for m in applied] == [m.version for m in migrations.discover()]
    assert migrations.migrate(url) == []
    recorded = _versions(url)
    assert recorded == {m.version: m.checksum for m in migrations.discover()}


def test_concurrent_runs_apply_each_file_once(postgres_database):
    url = postgres_database()
    results, failures = [], []

    def run():
        try:
            results.append(migrations.migrate(url))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(len(r) for r in results) == [0, 0, len(migrations.discover())]


def test_a_failing_migration_leaves_nothing_behind(postgres_database):
    url = postgres_database()
    good = migrations.Migration(1, "0001_good.sql", "CREATE TABLE t_good (id int)")
    bad = migrations.Migration(2, "0002_bad.sql", "CREATE TABLE t_bad (id int); SELEC oops")
    with pytest.raises(migrations.MigrationError, match="0002_bad.sql"):
        migrations.migrate(url, [good, bad])
    assert _versions(url) == {1: good.checksum}
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('t_bad')")
            assert cur.fetchone()[0] is None
    finally:
        conn.close()


def test_unreachable_database_is_reported():
    from wharf_index.adapters.db import DatabaseUnavailable
    from wharf_testing import free_port

    with pytest.raises(DatabaseUnavailable):
        migrations.migrate(f"postgresql://nobody@127.0.0.1:{free_port()}/x")


def test_pg_trgm_search_indexes_exist(db_url):
    conn = psycopg2.connect(db_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'repositories'")
            names = {row[0] for row in cur.fetchall()}
    finally:
        conn.close()
    assert "repositories_full_name_trgm_idx" in names


def test_holdings_are_filled_from_the_manifests_registries(postgres_database):
    """0011 records, for the repositories already pushed, the registries their manifests
    came from (so the Index names the right registry from the first request after it)."""
    url = postgres_database()
    found = migrations.discover()
    migrations.migrate(url, [m for m in found if m.version < 11])
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO namespaces (name, kind) VALUES ('alice', 'user') RETURNING id")
            namespace = cur.fetchone()[0]
            cur.execute(
                "INSERT INTO registries (name, url, kind, credential_hash) VALUES"
                " ('one', 'http://one', 'private', ''), ('two', 'http://two', 'private',"
                " '') RETURNING id"
            )
            one, two = (row[0] for row in cur.fetchall())
            for name in ("alice/a", "alice/b", "alice/empty"):
                cur.execute(
                    "INSERT INTO repositories (namespace_id, name, full_name,"
                    " visibility) VALUES (%s, %s, %s, 'private')",
                    (namespace, name[6:], name),
                )
            for name, registry, char in (
                ("alice/a", one, "a"),
                ("alice/a", two, "b"),
                ("alice/b", two, "c"),
                ("alice/b", None, "d"),
            ):
                cur.execute(
                    "INSERT INTO manifests (repository_id, digest, registry_id) SELECT"
                    " id, %s, %s FROM repositories WHERE full_name = %s",
                    ("sha256:" + char * 64, registry, name),
                )
        migrations.migrate(url)
        with conn.cursor() as cur:
            cur.execute(
                "SELECT r.full_name, g.name FROM repository_registries h JOIN"
                " repositories r ON r.id = h.repository_id JOIN registries g"
                " ON g.id = h.registry_id ORDER BY 1, 2"
            )
            assert cur.fetchall() == [("alice/a", "one"), ("alice/a", "two"), ("alice/b", "two")]
    finally:
        conn.close()


def test_0028_backfills_star_counts_and_platforms_from_kept_documents(postgres_database):
    """Stars counted once into star_counts; platforms read from the documents
    image_documents kept (an index's, a single image's config); a body that is not JSON
    leaves the platforms unknown."""
    url = postgres_database()
    before = [m for m in migrations.discover() if m.version < 28]
    migrations.migrate(url, before)
    digest = {c: "sha256:" + c * 64 for c in "abcdef"}
    index = json.dumps(
        {
            "manifests": [
                {"digest": digest["e"], "platform": {"os": "linux", "architecture": "amd64"}},
                {
                    "digest": digest["f"],
                    "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
                },
                {"digest": digest["f"], "platform": {"os": "unknown", "architecture": "unknown"}},
            ]
        }
    )
    config = json.dumps({"os": "linux", "architecture": "arm", "variant": "v7"})
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO namespaces (name, kind) VALUES ('alice', 'user'), ('bob', 'user');"
            " INSERT INTO users (username, namespace_id) SELECT name, id FROM namespaces"
            " WHERE kind = 'user';"
            " INSERT INTO repositories (namespace_id, name, full_name, visibility)"
            " SELECT id, 'app', name || '/app', 'public' FROM namespaces WHERE kind = 'user';"
            " INSERT INTO stars (user_id, repository_id) SELECT u.id, r.id FROM users u,"
            " repositories r WHERE r.full_name = 'alice/app';"
            " INSERT INTO manifests (repository_id, namespace_id, digest, media_type,"
            " config_digest) SELECT r.id, r.namespace_id, d.digest, '', d.config"
            " FROM repositories r, (VALUES (%(a)s, NULL), (%(b)s, %(c)s), (%(d)s, NULL))"
            " AS d(digest, config) WHERE r.full_name = 'alice/app';"
            " INSERT INTO image_documents (repository_id, kind, digest, body)"
            " SELECT r.id, d.kind, d.digest, convert_to(d.body, 'UTF8') FROM repositories r,"
            " (VALUES ('manifest', %(a)s, %(index)s), ('config', %(c)s, %(config)s),"
            " ('manifest', %(d)s, '{not json')) AS d(kind, digest, body)"
            " WHERE r.full_name = 'alice/app'",
            {**digest, "index": index, "config": config},
        )
    migrations.migrate(url)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT r.full_name, coalesce(c.star_count, 0) FROM repositories r"
            " LEFT JOIN star_counts c ON c.repository_id = r.id ORDER BY r.full_name"
        )
        assert cur.fetchall() == [("alice/app", 2), ("bob/app", 0)]
        cur.execute("SELECT digest, platforms FROM manifests ORDER BY digest")
        assert cur.fetchall() == [
            (
                digest["a"],
                [
                    {"os": "linux", "architecture": "amd64", "variant": ""},
                    {"os": "linux", "architecture": "arm64", "variant": "v8"},
                ],
            ),
            (digest["b"], [{"os": "linux", "architecture": "arm", "variant": "v7"}]),
            (digest["d"], None),
        ]
    conn.close()
