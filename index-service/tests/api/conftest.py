"""Fixtures for the /api/v1 tests: users alice (owner of alice/*), bob (an outsider),
carol (an administrator); Basic headers; helpers to make repositories and image records.

Every test runs on the emptied shared database of tests/conftest.py.
"""

from __future__ import annotations

import base64
import json

import psycopg2
import pytest
from wharf_index.services import principals, repositories

from tests.conftest import PASSWORD

API = "/api/v1"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"


def basic(username: str, secret: str = PASSWORD) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def users(make_user):
    """alice and bob (plain users), carol (administrator): name -> User."""
    return {name: make_user(name, admin=name == "carol") for name in ("alice", "bob", "carol")}


@pytest.fixture
def make_repo(uow, users):
    """make_repo("alice/app", visibility="public", owner="alice") -> Repository."""

    def make(
        full_name: str,
        *,
        visibility: str = "private",
        description: str = "",
        owner: str | None = None,
    ):
        principal = principals.principal_for(uow, users[owner or full_name.split("/")[0]])
        return repositories.create_repository(
            uow, principal, full_name, visibility=visibility, description=description
        )

    return make


@pytest.fixture
def add_tag(db_url):
    """add_tag("alice/app", "latest", digest_char="a", layers=[(digest, size), ...])."""
    conn = psycopg2.connect(db_url)
    conn.autocommit = True

    def add(full_name: str, tag: str, *, digest_char: str = "a", layers=(), size: int = 500):
        digest = "sha256:" + digest_char * 64
        layer_list = [{"digest": d, "size": s, "mediaType": LAYER_TYPE} for d, s in layers]
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO manifests (repository_id, digest, media_type, size, config_digest,"
                " layers, pushed_by) SELECT id, %s, %s, %s, %s, %s, 'alice' FROM repositories"
                " WHERE full_name = %s ON CONFLICT (repository_id, digest) DO UPDATE"
                " SET size = EXCLUDED.size RETURNING id, repository_id",
                (
                    digest,
                    "application/vnd.oci.image.manifest.v1+json",
                    size,
                    "sha256:" + "c" * 64,
                    json.dumps(layer_list),
                    full_name,
                ),
            )
            manifest_id, repository_id = cur.fetchone()
            cur.execute(
                "INSERT INTO tags (repository_id, name, manifest_id, pushed_by)"
                " VALUES (%s, %s, %s, 'alice')",
                (repository_id, tag, manifest_id),
            )
        return digest

    yield add
    conn.close()
