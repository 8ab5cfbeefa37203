"""``wharf-index keys rotate|list``, and the signing-key checks of ``migrate`` and ``serve``."""

from __future__ import annotations

import pytest

OTHER_SECRET = "a-different-secret-key-0123456789"


def _rows(result) -> list[list[str]]:
    header, *rows = result.out.splitlines()
    assert header.split("\t") == ["kid", "algorithm", "created", "retired", "published_until"]
    return [row.split("\t") for row in rows]


def test_rotate_then_list(run, sql):
    first = run("keys", "rotate")
    assert first.code == 0 and first.out.startswith("signing with ") and "retired" not in first.out
    second = run("keys", "rotate")
    assert second.code == 0 and "retired" in second.out
    old, new = _rows(run("keys", "list"))
    assert old[0] != new[0] and old[1] == new[1] == "ES256"
    assert old[3] != "-" and old[4] > old[3]  # published after its retirement
    assert new[3:] == ["-", "(active)"]
    assert new[0] in second.out and old[0] in second.out
    listed = run("keys", "list").out
    assert "PRIVATE" not in listed and sql("SELECT count(*) FROM signing_keys") == [(2,)]
    # published for the longest token lifetime (300 s) plus the leeway (60 s)
    assert sql(
        "SELECT extract(epoch FROM published_until - retired_at)::int FROM signing_keys"
        " WHERE retired_at IS NOT NULL"
    ) == [(360,)]


def test_rotate_uses_the_configured_algorithm(run, env):
    assert run("keys", "rotate", environ=dict(env, INDEX_TOKEN_ALGORITHM="RS256")).code == 0
    [row] = _rows(run("keys", "list"))
    assert row[1] == "RS256"


@pytest.mark.parametrize("command", ["migrate", "serve"])
def test_a_changed_secret_key_stops_start_up_naming_it(run, env, command):
    assert run("migrate").code == 0  # makes the first key with the original secret
    result = run(command, environ=dict(env, INDEX_SECRET_KEY=OTHER_SECRET))
    assert result.code == 2
    assert result.err.startswith("wharf-index: INDEX_SECRET_KEY: ")
    assert "Traceback" not in result.err and "keys rotate" in result.err


def test_rotating_under_a_new_secret_key_recovers(run, env):
    assert run("migrate").code == 0
    other = dict(env, INDEX_SECRET_KEY=OTHER_SECRET)
    assert run("keys", "rotate", environ=other).code == 0
    assert run("migrate", environ=other).code == 0
    assert len(_rows(run("keys", "list"))) == 2  # the old key stays published


def test_the_removed_token_keys_setting_stops_serve(run, env):
    result = run("serve", environ=dict(env, INDEX_TOKEN_KEYS="k" * 32))
    assert result.code == 2 and "INDEX_TOKEN_KEYS" in result.err and "database" in result.err


def test_serve_on_a_database_not_migrated_says_so(run, env, postgres_database):
    result = run("serve", environ=dict(env, INDEX_DATABASE_URL=postgres_database()))
    assert result.code == 1 and "wharf-index migrate" in result.err
    assert "Traceback" not in result.err
