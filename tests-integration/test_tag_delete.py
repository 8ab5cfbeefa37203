"""Tag deletion and immutable tags with real processes: the Index, a token-mode registry,
skopeo.

An owner deletes a tag through the Index API: the Index mints a delete token for the
registry and calls its ``DELETE /v2/<name>/manifests/<tag>``; afterwards the registry no
longer serves the tag, the other tag of the same repository is untouched, and the Index no
longer lists it. A tag the repository's immutable patterns match is refused by the Index
(409) and, when skopeo pushes another image to it, by the registry (the pattern travels in
the push token). Retention, run by the served Index's housekeeping thread, deletes the
tags its rules no longer keep in the same way.
"""

from __future__ import annotations

import json
import os

import pytest
from oci_client import Image
from stack import wait_for

RETENTION_INTERVAL = 2  # s: INDEX_RETENTION_INTERVAL of this module's Index


@pytest.fixture(scope="module")
def stack(make_stack):
    made = make_stack(index_env={"INDEX_RETENTION_INTERVAL": str(RETENTION_INTERVAL)})
    made.bootstrap()
    made.add_registry("reg1", "registry", ["alice"])
    yield made
    made.close()


@pytest.fixture(scope="module")
def alice(stack):
    return stack.login("alice")


def _push(stack, alice, repository: str, tags: tuple[str, ...], label: str) -> str:
    """Push one image as ``repository:<tag>`` for each tag; return its layout directory."""
    image = Image.random(layers=1, label=label)
    layout = image.write_layout(os.path.join(stack.workdir, label), "x")
    registry = stack.registries["reg1"].address
    for tag in tags:
        alice.copy(layout, f"docker://{registry}/{repository}:{tag}", check=True)
    return layout


def test_a_tag_deleted_through_the_index_is_gone_at_the_registry_and_the_index(stack, alice):
    repository = "alice/tagdel"
    _push(stack, alice, repository, ("1", "2"), "tagdel")
    wait_for(
        lambda: set(stack.tags_at_index(repository, "alice")) == {"1", "2"},
        timeout=30,
        message="the Index to record both tags",
    )
    refused = stack.api("DELETE", f"/api/v1/repositories/{repository}/-/tags/1", "bob")
    assert refused.status_code == 404, refused.text  # private: bob does not see it
    response = stack.api("DELETE", f"/api/v1/repositories/{repository}/-/tags/1", "alice")
    assert response.status_code == 204, response.text
    registry = stack.registries["reg1"].address
    assert alice.inspect(f"{registry}/{repository}:1").returncode != 0
    assert alice.inspect(f"{registry}/{repository}:2").returncode == 0
    assert set(stack.tags_at_index(repository, "alice")) == {"2"}
    client = stack.client("reg1", "alice")
    client.authorize(f"repository:{repository}:pull")
    assert client.get_manifest(repository, "1").status_code == 404
    assert client.get_manifest(repository, "2").status_code == 200
    again = stack.api("DELETE", f"/api/v1/repositories/{repository}/-/tags/1", "alice")
    assert again.status_code == 404, again.text


def test_an_immutable_tag_is_kept_by_the_index_and_the_registry(stack, alice):
    repository = "alice/frozen"
    _push(stack, alice, repository, ("v1", "dev"), "frozen")
    wait_for(
        lambda: set(stack.tags_at_index(repository, "alice")) == {"v1", "dev"},
        timeout=30,
        message="the Index to record both tags",
    )
    rules = stack.api(
        "PUT",
        f"/api/v1/repositories/{repository}/-/immutable-tags",
        "alice",
        json={"patterns": ["v*"]},
    )
    assert rules.status_code == 200, rules.text
    refused = stack.api("DELETE", f"/api/v1/repositories/{repository}/-/tags/v1", "alice")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "TAG_IMMUTABLE"
    registry = stack.registries["reg1"].address
    before = json.loads(alice.inspect(f"{registry}/{repository}:v1", check=True).stdout)
    other = Image.random(layers=1, label="frozen-other")
    layout = other.write_layout(os.path.join(stack.workdir, "frozen-other"), "x")
    moved = alice.copy(layout, f"docker://{registry}/{repository}:v1")  # a new token
    assert moved.returncode != 0
    assert "immutable" in moved.stderr, moved.stderr
    after = json.loads(alice.inspect(f"{registry}/{repository}:v1", check=True).stdout)
    assert after["Digest"] == before["Digest"]
    alice.copy(layout, f"docker://{registry}/{repository}:dev", check=True)  # mutable


def test_retention_run_by_the_served_index_deletes_at_the_registry(stack, alice):
    repository = "alice/kept"
    _push(stack, alice, repository, ("old", "new"), "kept-old")
    wait_for(
        lambda: set(stack.tags_at_index(repository, "alice")) == {"old", "new"},
        timeout=30,
        message="the Index to record both tags",
    )
    stack.postgres.execute(  # "old" was pushed a year ago
        "UPDATE tags SET pushed_at = now() - interval '365 days' WHERE name = 'old'"
        " AND repository_id = (SELECT id FROM repositories WHERE full_name = %s)",
        dbname=stack.database,
        params=(repository,),
    )
    rules = {"keep_newest": None, "keep_patterns": [], "max_age_days": 30}
    path = f"/api/v1/repositories/{repository}/-/retention"
    assert stack.api("PUT", path, "alice", json=rules).status_code == 200
    wait_for(
        lambda: set(stack.tags_at_index(repository, "alice")) == {"new"},
        timeout=30,
        message="retention to delete the old tag at the Index",
    )
    registry = stack.registries["reg1"].address
    assert alice.inspect(f"{registry}/{repository}:old").returncode != 0
    assert alice.inspect(f"{registry}/{repository}:new").returncode == 0
    audit = stack.postgres.execute(
        "SELECT detail->>'by' FROM audit_log WHERE action = 'tag.delete' AND target = %s",
        dbname=stack.database,
        params=(f"{repository}:old",),
    )
    assert audit == [("retention",)]
