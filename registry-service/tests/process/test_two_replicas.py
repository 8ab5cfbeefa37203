"""Statelessness: two registry processes on one storage serve one upload alternately.

The registry keeps every piece of an upload's state in storage; the running hash is only a
per-process cache. So POST on one process, PATCH on the other, PATCH and PUT on the first
must work, and the digest must still be verified (the second process has no hasher for the
upload and the first one's is stale: both fall back to hashing the stored data).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import requests
from registry_http import TIMEOUT, digest_of, patch_chunk, start_upload, with_query


def _on(base: str, location: str) -> str:
    """The same upload URL (path and query) addressed to another replica."""
    parts = urlsplit(location)
    return f"{base}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def test_one_upload_served_alternately_by_two_processes(start_registry, tmp_path):
    root = tmp_path / "shared"
    first, second = start_registry(root), start_registry(root)
    assert first.pid != second.pid
    chunks = [os.urandom(256 * 1024 + 7), os.urandom(100 * 1024), os.urandom(3)]
    data = b"".join(chunks)

    location = start_upload(first.url, "team/app")
    location = patch_chunk(_on(second.url, location), chunks[0], 0)
    location = patch_chunk(_on(first.url, location), chunks[1], len(chunks[0]))
    status = requests.get(_on(second.url, location), timeout=TIMEOUT)
    assert status.status_code == 204
    assert status.headers["Range"] == f"0-{len(chunks[0]) + len(chunks[1]) - 1}"
    done = requests.put(
        with_query(_on(first.url, location), digest=digest_of(data)),
        data=chunks[2],
        timeout=TIMEOUT,
    )
    assert done.status_code == 201, done.text

    for replica in (first, second):
        blob = requests.get(f"{replica.url}/v2/team/app/blobs/{digest_of(data)}", timeout=TIMEOUT)
        assert blob.status_code == 200 and blob.content == data


def test_a_wrong_digest_is_caught_across_processes(start_registry, tmp_path):
    root = tmp_path / "shared"
    first, second = start_registry(root), start_registry(root)
    chunk = os.urandom(64 * 1024)
    location = start_upload(first.url, "team/app")
    location = patch_chunk(_on(second.url, location), chunk, 0)
    wrong = digest_of(chunk + b"x")
    r = requests.put(with_query(_on(first.url, location), digest=wrong), timeout=TIMEOUT)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "DIGEST_INVALID"
    for replica in (first, second):
        head = requests.head(f"{replica.url}/v2/team/app/blobs/{wrong}", timeout=TIMEOUT)
        assert head.status_code == 404
