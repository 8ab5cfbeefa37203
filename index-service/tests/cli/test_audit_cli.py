"""``wharf-index audit export``: JSON lines, oldest first, filtered, through a server-side
cursor (never the whole log in memory)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import psycopg2
import pytest
from wharf_index.adapters.db import Database
from wharf_index.adapters.unit_of_work import PgUnitOfWork
from wharf_index.services import audit_log


@pytest.fixture
def entries(db_url, run):
    """Six audit rows at known times (inserted directly: the log is append-only SQL)."""
    assert run("migrate").code == 0
    rows = [
        ("2026-01-01T00:00:00Z", "repository.push", "alice/app:v1", {"digest": "sha256:1"}),
        ("2026-01-02T00:00:00Z", "tag.delete", "alice/app:v1", {"by": "registry"}),
        ("2026-01-03T00:00:00Z", "registry.gc", "reg1", {"bytes_freed": 10}),
        ("2026-01-04T00:00:00Z", "repository.push", "alice/app:v2", {"digest": "sha256:2"}),
        ("2026-01-05T00:00:00Z", "quota.refused", "alice/app", {"message": 'over "quota"\n'}),
        ("2026-01-06T00:00:00Z", "repository.push", "bob/x:1", {"digest": "sha256:3"}),
    ]
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        for at, action, target, detail in rows:
            cur.execute(
                "INSERT INTO audit_log (at, actor_name, action, target_type, target, detail,"
                " request_id, remote_addr) VALUES (%s, 'alice', %s, 'repository', %s, %s,"
                " 'req-1', '')",
                (at, action, target, json.dumps(detail)),
            )
    conn.close()
    return rows


def lines(text: str) -> list[dict]:
    assert text.endswith("\n") or text == ""
    return [json.loads(line) for line in text.splitlines()]


def test_export_writes_every_entry_as_json_lines_oldest_first(run, entries):
    result = run("audit", "export")
    assert result.code == 0, result.err
    exported = lines(result.out)
    assert [e["target"] for e in exported] == [target for _, _, target, _ in entries]
    assert [e["id"] for e in exported] == sorted(e["id"] for e in exported)
    first = exported[0]
    assert set(first) == {
        "id",
        "at",
        "actor_id",
        "actor",
        "action",
        "target_type",
        "target",
        "namespace_id",
        "repository_id",
        "detail",
        "request_id",
        "remote_addr",
    }
    assert first["at"] == "2026-01-01T00:00:00Z" and first["detail"] == {"digest": "sha256:1"}
    assert exported[4]["detail"] == {"message": 'over "quota"\n'}  # escaped, still one line


def test_export_filters_by_time_and_action(run, entries):
    window = run("audit", "export", "--since", "2026-01-02", "--until", "2026-01-05T00:00:00Z")
    assert [e["action"] for e in lines(window.out)] == [
        "tag.delete",
        "registry.gc",
        "repository.push",
    ]  # since inclusive, until exclusive
    pushes = run("audit", "export", "--action", "repository.push", "--since", "2026-01-03")
    assert [e["target"] for e in lines(pushes.out)] == ["alice/app:v2", "bob/x:1"]
    several = run("audit", "export", "--action", "registry.gc", "--action", "quota.refused")
    assert [e["action"] for e in lines(several.out)] == ["registry.gc", "quota.refused"]
    offset = run("audit", "export", "--since", "2026-01-05T02:00:00+03:00")  # 2026-01-04T23:00Z
    assert len(lines(offset.out)) == 2
    assert run("audit", "export", "--action", "nothing.like.this").out == ""


def test_export_to_a_file(run, entries, tmp_path):
    path = tmp_path / "audit.jsonl"
    result = run("audit", "export", "--output", str(path), "--action", "registry.gc")
    assert result.code == 0 and result.out == ""
    assert [e["target"] for e in lines(path.read_text())] == ["reg1"]
    assert os.listdir(tmp_path) == ["audit.jsonl"]  # no temporary file left
    assert path.stat().st_mode & 0o077 == 0  # the log is not for everyone to read


@pytest.mark.parametrize(
    "argv",
    [
        ("--since", "yesterday"),
        ("--until", "2026-13-01"),
    ],
)
def test_bad_times_are_usage_errors(run, argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        run("audit", "export", *argv)
    assert exit_.value.code == 2
    assert "RFC 3339" in capsys.readouterr().err


def test_an_empty_window_is_an_error_and_writes_no_file(run, entries, tmp_path):
    path = tmp_path / "audit.jsonl"
    result = run(
        "audit", "export", "--since", "2026-01-05", "--until", "2026-01-01", "--output", str(path)
    )
    assert result.code == 1 and "--until must be later than --since" in result.err
    assert os.listdir(tmp_path) == []


def test_the_export_streams_through_a_server_side_cursor(db_url, run, entries):
    db = Database(db_url, minconn=0, maxconn=1)
    try:
        uow = PgUnitOfWork(db)
        stream = audit_log.export(uow, batch=2)
        first = next(stream)
        # The rows come from a cursor declared in the export's transaction, two at a time.
        with uow.conn.cursor() as cur:
            cur.execute("SELECT name, statement FROM pg_cursors")
            [(name, statement)] = cur.fetchall()
        assert name == "wharf_audit_export" and "FROM audit_log" in statement
        rest = list(stream)
        assert [first.target, *[r.target for r in rest]] == [t for _, _, t, _ in entries]
        assert first.at == datetime(2026, 1, 1, tzinfo=UTC)
        assert uow.conn is None  # the transaction ended with the iteration
    finally:
        db.close()
