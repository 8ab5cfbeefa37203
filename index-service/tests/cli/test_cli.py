"""``wharf-index`` in-process against the test database (passwords through stdin)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from wharf_index import cli
from wharf_index.domain.errors import RegistryCredentialInvalid
from wharf_index.settings import Settings
from wharf_testing import free_port

from tests.conftest import SECRET_KEY


def test_migrate_fresh_then_up_to_date(run, env, postgres_database):
    fresh = dict(env, INDEX_DATABASE_URL=postgres_database())
    first = run("migrate", environ=fresh)
    assert first.code == 0 and "applied 0001_accounts.sql" in first.out
    second = run("migrate", environ=fresh)
    assert second.code == 0 and second.out.splitlines()[0] == "database is up to date"
    # the first run made the signing key; the second finds the same one
    key_line = [line for line in first.out.splitlines() if line.startswith("token signing key")]
    assert key_line == [second.out.splitlines()[1]] and key_line[0].endswith("(ES256)")


def test_user_lifecycle(run):
    created = run(
        "user",
        "create",
        "alice",
        "--email",
        "a@example.test",
        "--password-stdin",
        stdin="a good long password\n",
    )
    assert created.code == 0 and "a good long password" not in created.out + created.err
    assert (
        run(
            "user",
            "create",
            "root2",
            "--email",
            "r@example.test",
            "--password-stdin",
            "--admin",
            stdin="another password!\n",
        )
        .out.strip()
        .endswith("(administrator)")
    )
    listing = run("user", "list").out.splitlines()
    assert listing == ["alice\ta@example.test\t-", "root2\tr@example.test\tadmin"]
    changed = run("user", "set-password", "alice", "--password-stdin", stdin="new password 123\n")
    assert changed.code == 0
    assert run("user", "grant-admin", "alice").code == 0
    assert "alice\ta@example.test\tadmin" in run("user", "list").out
    assert run("user", "revoke-admin", "alice").code == 0
    assert run("user", "disable", "alice").code == 0
    assert "disabled" in run("user", "list").out
    assert run("user", "enable", "alice").code == 0
    assert run("user", "delete", "alice").code == 0
    assert "alice" not in run("user", "list").out


def test_user_errors_are_readable(run):
    ok = run(
        "user",
        "create",
        "alice",
        "--email",
        "a@example.test",
        "--password-stdin",
        stdin="a good long password\n",
    )
    assert ok.code == 0
    for argv, stdin, text in (
        (
            ("user", "create", "alice", "--email", "b@example.test", "--password-stdin"),
            "another password\n",
            "already exists",
        ),
        (
            ("user", "create", "api", "--email", "c@example.test", "--password-stdin"),
            "another password\n",
            "reserved",
        ),
        (
            ("user", "create", "bob", "--email", "d@example.test", "--password-stdin"),
            "",
            "no password on stdin",
        ),
        (
            ("user", "create", "bob", "--email", "d@example.test", "--password-stdin"),
            "short\n",
            "at least",
        ),
        (("user", "delete", "ghost"), "", "user ghost not found"),
    ):
        result = run(*argv, stdin=stdin)
        assert result.code == 1, argv
        assert result.err.startswith("wharf-index: error:") and text in result.err
        assert "Traceback" not in result.err


def test_orgs_and_teams(run, uow):
    run(
        "user",
        "create",
        "alice",
        "--email",
        "a@example.test",
        "--password-stdin",
        stdin="a good long password\n",
    )
    run(
        "user",
        "create",
        "bob",
        "--email",
        "b@example.test",
        "--password-stdin",
        stdin="a good long password\n",
    )
    assert run("org", "create", "acme", "--owner", "alice").code == 0
    assert run("team", "create", "acme", "devs", "--role", "write").code == 0
    assert run("org", "add-member", "acme", "bob", "--team", "devs").out.strip() == (
        "added bob to acme/devs"
    )
    assert run("org", "list").out.split() == ["acme"]
    assert run("team", "grant", "acme", "devs", "acme/missing").code == 1
    assert run("team", "create", "acme", "devs", "--role", "read").code == 1
    with uow:
        org = uow.orgs.get("acme")
        assert uow.orgs.team_members(uow.orgs.get_team(org.id, "devs").id) == ["bob"]


def test_the_list_commands_print_every_page(run, make_user, monkeypatch):
    monkeypatch.setattr(cli, "LIST_PAGE", 2)
    for name in ("alice", "bob", "carol", "dave"):
        make_user(name)
    for org in ("acme", "beta", "corp", "delta"):
        assert run("org", "create", org, "--owner", "alice").code == 0
    assert run("org", "list").out.split() == ["acme", "beta", "corp", "delta"]
    assert [line.split("\t")[0] for line in run("user", "list").out.splitlines()] == [
        "alice",
        "bob",
        "carol",
        "dave",
    ]


def test_registries(run, uow):
    added = run(
        "registry",
        "add",
        "reg.example",
        "--url",
        "https://reg.example",
        "--kind",
        "private",
        "--namespace",
        "acme",
        "--namespace",
        "alice",
    )
    assert added.code == 0
    credential = added.out.strip().splitlines()[-1]
    from wharf_index.services import registries

    assert registries.authenticate_registry(uow, "reg.example", credential).name == "reg.example"
    assert run("registry", "list").out.strip() == (
        "reg.example\tprivate\thttps://reg.example\tacme,alice\tauto:unfiltered\t1\t-"
    )
    updated = run("registry", "update", "reg.example", "--catalog", "filtered")
    assert (updated.code, updated.out.strip()) == (
        0,
        "registry reg.example: kind private, catalog filtered, weight 1, upstream -",
    )
    assert run("registry", "list").out.strip().endswith("\tfiltered\t1\t-")
    with pytest.raises(SystemExit):  # argparse refuses it, naming the choices
        run("registry", "update", "reg.example", "--catalog", "maybe")
    assert run("registry", "update", "nowhere", "--catalog", "auto").code == 1
    other = ("registry", "add", "x.example", "--url", "https://x", "--kind", "mirror")
    assert "serves only its namespaces" in run(*other).err  # a mirror needs some
    assert run(*other, "--namespace", "alice", "--catalog", "unfiltered").code == 0
    assert "x.example\tmirror\thttps://x\talice\tunfiltered" in run("registry", "list").out
    kind = run("registry", "update", "reg.example", "--kind", "sponsor")
    assert (kind.code, kind.out.strip()) == (
        0,
        "registry reg.example: kind sponsor, catalog filtered, weight 1, upstream -",
    )
    assert run("registry", "list").out.startswith("reg.example\tsponsor\t")
    nothing = run("registry", "update", "reg.example")  # nothing to change
    assert nothing.code == 1 and "give kind, catalog, weight and/or upstream" in nothing.err
    assert credential not in run("registry", "list").out
    assert run("registry", "add", "reg.example", "--url", "https://x", "--kind", "mirror").code == 1
    rotated = run("registry", "rotate-credential", "reg.example")
    assert rotated.code == 0
    fresh = rotated.out.strip().splitlines()[-1]
    assert fresh != credential
    assert registries.authenticate_registry(uow, "reg.example", fresh).name == "reg.example"
    with pytest.raises(RegistryCredentialInvalid):
        registries.authenticate_registry(uow, "reg.example", credential)
    assert run("registry", "rotate-credential", "nowhere").code == 1
    assert run("registry", "remove", "reg.example").code == 0
    assert run("registry", "remove", "reg.example").code == 1


def test_prune_counts_then_deletes(run, uow, sql):
    with uow:
        uow.issued_tokens.record(
            "old",
            subject="alice",
            audience="registry.test",
            expires_at=datetime.now(UTC) - timedelta(hours=1),
        )
    assert run("keys", "rotate").code == 0 and run("keys", "rotate").code == 0
    sql(  # the retired key's tokens have all expired
        "UPDATE signing_keys SET published_until = now() - interval '1 second'"
        " WHERE retired_at IS NOT NULL"
    )
    dry = run("prune", "--dry-run")
    assert dry.code == 0 and dry.out.splitlines() == [
        "1 expired issued-token records would be deleted",
        "0 old processed event ids would be deleted",
        "1 retired signing keys past publication would be deleted",
        "0 old finished webhook deliveries would be deleted",
        "0 webhooks of deleted repositories would be deleted",
        "0 pull counts of ended windows would be deleted",
    ]
    assert sql("SELECT count(*) FROM issued_tokens") == [(1,)]
    done = run("prune")
    assert done.code == 0 and done.out.splitlines()[0] == "1 expired issued-token records deleted"
    assert done.out.splitlines()[2] == "1 retired signing keys past publication deleted"
    assert sql("SELECT count(*) FROM issued_tokens") == [(0,)]
    assert sql("SELECT count(*), count(retired_at) FROM signing_keys") == [(1, 0)]


def test_bad_configuration_names_the_variable(run):
    for argv in (("migrate",), ("serve",), ("user", "list")):
        result = run(*argv, environ={"INDEX_SECRET_KEY": SECRET_KEY, "INDEX_TOKEN_TTL": "x"})
        assert result.code == 2
        assert "INDEX_DATABASE_URL" in result.err and "INDEX_TOKEN_TTL" in result.err


def test_unreachable_database(run, env):
    down = dict(env, INDEX_DATABASE_URL=f"postgresql://x@127.0.0.1:{free_port()}/x")
    for argv in (("migrate",), ("user", "list")):
        result = run(*argv, environ=down)
        assert result.code == 1 and "database unavailable" in result.err


def test_usage_errors_exit_2():
    with pytest.raises(SystemExit) as caught:
        cli.main(["user", "create", "bob"], environ={}, stderr=io.StringIO())
    assert caught.value.code == 2


def test_serve_runs_gunicorn_with_gthread_workers():
    settings = Settings(database_url="postgresql://x@h/db", secret_key=SECRET_KEY)
    args = cli.build_parser().parse_args(["serve", "--bind", "0.0.0.0:8000", "--threads", "4"])
    argv = cli.gunicorn_argv(args, settings)
    assert argv[1:5] == ["-m", "gunicorn", "-c", "python:wharf_index.gunicorn_conf"]
    assert argv[argv.index("--bind") + 1] == "0.0.0.0:8000"
    assert argv[argv.index("--threads") + 1] == "4"
    assert argv[argv.index("--workers") + 1] == str(settings.workers)
    assert argv[-1] == "wharf_index.wsgi:app"


def test_version_needs_no_configuration(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"], environ={})  # no database, no secret: still answers
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == (
        f"wharf-index {version('wharf-index')} (wharf-protocol {version('wharf-protocol')})"
    )
