"""``wharf-index repo delete|redrive``, ``tag delete|retention`` and ``registry sync``
in-process, the registry a ``responses`` double."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
import responses
from wharf_index import cli, cli_registry_ops
from wharf_index.context import build_context
from wharf_index.domain.model import SYSTEM
from wharf_index.services import accounts, events, registries, repositories, tag_rules
from wharf_index.settings import Settings

from tests.conftest import PASSWORD, SECRET_KEY
from tests.registry_double import (
    FakeRegistry,
    make_client,
    manifest_bytes,
    push_event,
    verifier_for,
)

URL = "http://registry.test:5000"


@pytest.fixture
def env(db_url):
    return {
        "INDEX_DATABASE_URL": db_url,
        "INDEX_SECRET_KEY": SECRET_KEY,
        "INDEX_PASSWORD_SCRYPT_N": "1024",
    }


@pytest.fixture
def run(env):
    def run(*argv):
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(
            list(argv),
            environ=env,
            stdin=io.StringIO(),
            stdout=out,
            stderr=err,
            registry_client=make_client(),
        )
        return SimpleNamespace(code=code, out=out.getvalue(), err=err.getvalue())

    return run


@pytest.fixture
def fake(env, uow, database):
    """alice/app at the Index, and registry "reg" (no namespaces: serves every one)."""
    settings = Settings.from_env(env)
    accounts.create_user(uow, "alice", "alice@example.test", PASSWORD)
    repositories.create_repository(uow, SYSTEM, "alice/app")
    registries.add_registry(uow, "reg", URL, "private")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        registry = FakeRegistry(mock, URL, verifier_for(settings, database), "reg")
        registry.push("alice/app", "1", manifest_bytes("1"))
        yield registry


def test_repo_delete_calls_the_registry_and_removes_the_records(run, fake):
    result = run("repo", "delete", "alice/app")
    assert (result.code, result.out.strip()) == (0, "deleted alice/app")
    assert [c[:2] for c in fake.calls] == [("DELETE", "/v2/_wharf/repositories/alice/app")]
    assert "not found" in run("repo", "delete", "alice/app").err


def test_repo_delete_with_registry_down_then_redrive(run, fake):
    fake.down = True
    pending = run("repo", "delete", "alice/app")
    assert pending.code == 1 and "repo redrive" in pending.err and "registry reg" in pending.err
    still = run("repo", "redrive")
    assert still.code == 1 and "still deleting alice/app" in still.out
    fake.down = False
    done = run("repo", "redrive")
    assert done.code == 0 and "deleted alice/app" in done.out and "1 deleted, 0 still" in done.out
    assert "alice/app" not in fake.repositories
    assert run("repo", "redrive").out.strip() == "0 deleted, 0 still deleting"


def test_registry_sync_dry_run_then_for_real(run, fake):
    dry = run("registry", "sync", "reg", "--dry-run")
    assert dry.code == 0 and "+ tag alice/app:1" in dry.out and "dry run" in dry.out
    real = run("registry", "sync", "reg")
    assert real.code == 0
    assert "0 repositories added, 1 tags added, 0 updated, 0 removed" in real.out
    assert "0 tags added" in run("registry", "sync", "reg").out
    missing = run("registry", "sync", "nowhere")
    assert missing.code == 1 and "registry nowhere not found" in missing.err


def test_registry_sync_every_repeats_and_survives_failures(env, database, uow, fake):
    context = build_context(Settings.from_env(env), db=database, registry_client=make_client())
    args = SimpleNamespace(name="reg", dry_run=True, every=5, context=context)
    slept, out, err = [], io.StringIO(), io.StringIO()

    class Done(Exception):
        pass

    def sleep(seconds):
        slept.append(seconds)
        fake.down = len(slept) == 1  # the second run fails, the third works again
        if len(slept) == 3:
            raise Done()

    with pytest.raises(Done):
        cli_registry_ops.registry_sync(uow, args, None, out, sleep=sleep, stderr=err)
    assert slept == [5, 5, 5]
    assert out.getvalue().count("registry reg: ") == 2
    assert "registry reg:" in err.getvalue() and "attempts" in err.getvalue()


@pytest.fixture
def tagged(uow, fake):
    """Tags 1 and v1 of alice/app recorded at the Index (as the registry's events leave
    them) and held by "reg"."""
    with uow:
        reg = uow.registries.find("reg")
    for tag in ("1", "v1"):
        body = manifest_bytes(tag)
        fake.push("alice/app", tag, body)
        events.ingest(uow, reg, [push_event("alice/app", tag, body)])
    return fake


def test_tag_delete_calls_the_registry_and_removes_the_record(run, tagged, sql):
    result = run("tag", "delete", "alice/app:1")
    assert result.code == 0 and result.out.startswith("deleted alice/app:1 (sha256:")
    assert [c[:2] for c in tagged.calls] == [
        ("HEAD", "/v2/alice/app/manifests/1"),
        ("DELETE", "/v2/alice/app/manifests/1"),
    ]
    assert sql("SELECT name FROM tags") == [("v1",)]
    assert sql("SELECT actor_name FROM audit_log WHERE action = 'tag.delete'") == [("wharf-index",)]
    again = run("tag", "delete", "alice/app:1")
    assert again.code == 1 and "tag 1 not found" in again.err


def test_tag_delete_refusals(run, tagged, uow, sql):
    tag_rules.set_immutable(uow, SYSTEM, "alice/app", ["v*"])
    immutable = run("tag", "delete", "alice/app:v1")
    assert immutable.code == 1 and "tag v1 is immutable in alice/app (pattern v*)" in immutable.err
    tagged.down = True
    down = run("tag", "delete", "alice/app:1")
    assert down.code == 1 and "registry reg" in down.err
    with pytest.raises(SystemExit) as usage:  # no tag: argparse's usage error
        run("tag", "delete", "alice/app")
    assert usage.value.code == 2
    assert tagged.calls == [] and len(sql("SELECT name FROM tags")) == 2


def test_tag_retention_dry_run_then_run(run, tagged, uow, sql):
    tag_rules.set_retention(
        uow, SYSTEM, "alice/app", keep_newest=0, keep_patterns=["v*"], max_age_days=None
    )
    dry = run("tag", "retention", "--dry-run")
    assert (dry.code, dry.out) == (0, "would delete alice/app:1 (keep_newest)\n")
    assert len(sql("SELECT name FROM tags")) == 2
    done = run("tag", "retention")
    assert done.code == 0 and "deleted alice/app:1" in done.out
    assert sql("SELECT name FROM tags") == [("v1",)]
