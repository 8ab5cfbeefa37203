"""Backup and restore as docs/operations.md gives them, run for real.

alice pushes an image with skopeo; the doc's backup block (``pg_dump --format=custom``,
then a copy of the registry's filesystem storage) runs against the live stack, which is
then stopped and its database dropped. A new PostgreSQL server, an empty database and an
empty storage directory get the doc's restore block (``pg_restore``, the copy back,
``wharf-index migrate``); a new Index and registry start on them with the old
configuration's secrets. alice logs in again, the Index still knows her repository and
tag, and the image pulled back has the digest it was pushed with, every blob intact.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from oci_client import Image
from stack import ADMIN, PASSWORDS, REGISTRY_PORT, Registry, Stack, wait_for
from wharf_testing.postgres import PostgresServer, find_bindir
from wharf_testing.processes import base_env

OPERATIONS = Path(__file__).resolve().parents[1] / "docs" / "operations.md"


def doc_block(name: str) -> str:
    """The ``sh`` block after ``<!-- tested: NAME ...-->`` in docs/operations.md."""
    text = OPERATIONS.read_text()
    match = re.search(rf"<!-- tested: {name}\b[^>]*-->\n```sh\n(.*?)\n```", text, re.DOTALL)
    assert match, f"docs/operations.md has no tested block {name!r}"
    return match.group(1)


def run_block(stack: Stack, name: str, env: dict[str, str]) -> None:
    """Run a doc block with bash (-euo pipefail) on the Index's host, with the Index's
    environment, PostgreSQL's client tools and ``wharf-index`` on PATH."""
    path = os.pathsep.join([find_bindir(), os.path.dirname(sys.executable), base_env()["PATH"]])
    result = stack.index_host.run(
        ["bash", "-euo", "pipefail", "-c", doc_block(name)],
        capture_output=True,
        text=True,
        env=base_env() | stack.index_env | env | {"PATH": path},
        timeout=300,
    )
    assert result.returncode == 0, f"{name} block exited {result.returncode}:\n{result.stderr}"


@pytest.fixture
def fresh_postgres(network):
    """A second PostgreSQL server on the db host: the machine the backup is restored to."""
    db = network["db"]
    server = PostgresServer(host=db.address, port=db.port(5433), prefix=db.prefix)
    server.start()
    yield server
    server.stop()


def _tag(stack: Stack, repository: str, tag: str) -> dict | None:
    return stack.tags_at_index(repository, "alice").get(tag)


def test_a_restored_backup_serves_the_same_images_accounts_and_repositories(
    make_stack, network, fresh_postgres, tmp_path
):
    # Both stacks use the same hosts and ports (fixed ones in the sandbox): each is closed
    # here, not at the end of the session, so the next module's stack can bind them.
    old = make_stack().bootstrap(users=(ADMIN, "alice"))
    with contextlib.closing(old):
        image, registry, secrets = back_up(old, tmp_path)
    new = make_stack_on(fresh_postgres, network, secrets)
    with contextlib.closing(new):
        check_restore(new, registry, image, tmp_path)


def back_up(old: Stack, tmp_path: Path) -> tuple[Image, Registry, dict[str, str]]:
    """Push an image the Index records, then run the doc's backup block into
    ``tmp_path/backup``; return the image, the registry and the secrets to keep."""
    registry = old.add_registry("reg1", "registry", ["alice"])
    image = Image.random(layers=3, label="backup")
    layout = image.write_layout(str(tmp_path / "layout"), "1")
    old.login("alice").copy(layout, f"docker://{registry.address}/alice/app:1", check=True)
    wait_for(lambda: _tag(old, "alice/app", "1"), timeout=30, message="the Index to record it")

    backup = tmp_path / "backup"
    backup.mkdir()
    run_block(
        old,
        "backup",
        {
            "BACKUP": str(backup),
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": old.storage_root("reg1"),
        },
    )
    assert (backup / "index.dump").read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    # The disaster follows (closing drops the database); the configuration survives.
    return image, registry, {"INDEX_SECRET_KEY": old.index_env["INDEX_SECRET_KEY"]}


def check_restore(new: Stack, registry: Registry, image: Image, tmp_path: Path) -> None:
    """Run the doc's restore block into ``new``'s empty database and storage, start it,
    and check that what was backed up is served again."""
    root = new.storage_root("reg1")
    os.makedirs(root)
    backup = tmp_path / "backup"
    run_block(
        new, "restore", {"BACKUP": str(backup), "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": root}
    )
    new.index.start(timeout=60)
    start_registry(new, registry)

    # alice can still log in (her password hash came back with the database) ...
    alice = new.login("alice")
    # ... the Index still knows her repository and tag ...
    assert new.api("GET", "/api/v1/repositories/alice/app", "alice").status_code == 200
    assert new.tags_at_index("alice/app", "alice")["1"]["digest"] == image.digest
    # ... and the image comes back byte for byte.
    address = new.registries["reg1"].address
    inspected = json.loads(alice.inspect(f"{address}/alice/app:1", check=True).stdout)
    assert inspected["Digest"] == image.digest
    pulled = tmp_path / "pulled"
    alice.copy(f"docker://{address}/alice/app:1", f"oci:{pulled}:1", check=True)
    index = json.loads((pulled / "index.json").read_text())
    assert [m["digest"] for m in index["manifests"]] == [image.digest]
    for blob in (image.manifest, *image.blobs()):
        digest = hashlib.sha256(blob).hexdigest()
        assert (pulled / "blobs" / "sha256" / digest).read_bytes() == blob
    # A wrong password is still refused: the accounts are the restored ones, not open.
    assert alice.login(address, "alice", PASSWORDS["bob"], check=False).returncode != 0


def make_stack_on(postgres: PostgresServer, network, secrets: dict[str, str]) -> Stack:
    """A Stack whose (empty) database lives on ``postgres``; not bootstrapped: the restore
    brings the schema and the accounts."""
    stack = Stack(network, postgres, index_env=secrets)
    tables = postgres.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
        dbname=stack.database,
    )
    assert tables == [(0,)]
    return stack


def start_registry(stack: Stack, before: Registry) -> Registry:
    """The registry ``before`` was, again (same name and credential), on the restored
    storage and the new Index."""
    host = stack.network["registry"]
    port = host.port(REGISTRY_PORT)
    env = {
        "REGISTRY_AUTH": "token",
        "REGISTRY_INDEX_URL": stack.index.url,
        "REGISTRY_INDEX_NAME": before.name,
        "REGISTRY_INDEX_CREDENTIAL": before.credential,
        "REGISTRY_AUTH_TOKEN_REALM": f"{stack.index.url}/v2/token",
    }
    service = stack.registry_service(before.name, host, port, env)
    registry = Registry(before.name, host, service, before.credential, before.namespaces)
    stack.registries[before.name] = registry
    service.start(timeout=60)
    return registry


def test_the_doc_blocks_the_test_runs_are_the_ones_it_shows():
    """The blocks exist and hold the commands the doc's text names (so editing the doc
    changes what the test above runs)."""
    backup, restore = doc_block("backup"), doc_block("restore")
    assert backup.index("pg_dump --format=custom") < backup.index("cp -a")
    assert restore.index("pg_restore") < restore.index("cp -a") < restore.index("migrate")
    assert subprocess.run(["bash", "-n", "-c", backup + "\n" + restore]).returncode == 0
