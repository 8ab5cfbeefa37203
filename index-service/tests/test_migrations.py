"""``wharf-index migrate``: ordered, recorded, idempotent, transactional, concurrency-safe."""

from __future__ import annotations

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
