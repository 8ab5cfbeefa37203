"""``kill -9`` of the registry in the middle of a large streaming upload, then a restart.

The restarted registry, on the same storage, must find it consistent: the blob being
uploaded is not visible (not even as a file at its final place in the layout), an upload
session either is gone or reports an offset it really holds (a client resuming from
there ends with the right blob), a new upload of the same blob succeeds, and blobs
pushed earlier are intact.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from registry_http import (
    blob_status,
    get_blob,
    open_request,
    patch_chunk,
    push_blob,
    start_upload,
    stream_request,
    upload_range,
    with_query,
)

REPO = "faults/killed"
MiB = 1 << 20
BLOCKS = 32  # a 32 MiB blob, killed after SENT_BLOCKS of it reached the server
SENT_BLOCKS = 8
OCTETS = {"Content-Type": "application/octet-stream"}


def big_blob() -> tuple[bytes, str]:
    """Return (a 1 MiB random block, the digest of BLOCKS copies of it)."""
    block = os.urandom(MiB)
    hasher = hashlib.sha256()
    for _ in range(BLOCKS):
        hasher.update(block)
    return block, "sha256:" + hasher.hexdigest()


def data_path(root: Path, digest: str) -> Path:
    """Where the reference layout keeps a committed blob's bytes."""
    hexdigest = digest.split(":", 1)[1]
    return root / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"


def rebase(url: str, base: str) -> str:
    parts = urlsplit(url)
    return urljoin(base, parts.path + (f"?{parts.query}" if parts.query else ""))


def stream_until_killed(
    service, url: str, method: str, block: bytes, length: int, headers: dict
) -> None:
    """Declare ``length`` bytes, send SENT_BLOCKS blocks, then kill -9 the registry."""
    sock = open_request(url, method, length, headers)
    try:
        for _ in range(SENT_BLOCKS):
            sock.sendall(block)
        service.kill()  # SIGKILL to gunicorn's whole process group: master and workers
    finally:
        sock.close()


def push_streamed(base: str, block: bytes, digest: str) -> None:
    location = start_upload(base, REPO)
    status, body = stream_request(
        with_query(location, digest=digest),
        "PUT",
        (block for _ in range(BLOCKS)),
        BLOCKS * len(block),
        OCTETS,
    )
    assert status == 201, body


def assert_blob_is(base: str, digest: str, block: bytes) -> None:
    with requests.get(f"{base}/v2/{REPO}/blobs/{digest}", stream=True, timeout=120) as response:
        assert response.status_code == 200
        hasher, size = hashlib.sha256(), 0
        for chunk in response.iter_content(MiB):
            hasher.update(chunk)
            size += len(chunk)
    assert size == BLOCKS * len(block)
    assert "sha256:" + hasher.hexdigest() == digest


def test_kill_during_final_put_then_restart(start_registry, tmp_path):
    root = tmp_path / "storage"
    first = start_registry(root)
    earlier = os.urandom(512 * 1024)
    earlier_digest = push_blob(first.url, REPO, earlier)
    block, digest = big_blob()
    location = start_upload(first.url, REPO)

    stream_until_killed(
        first, with_query(location, digest=digest), "PUT", block, BLOCKS * MiB, OCTETS
    )

    assert not data_path(root, digest).exists()
    second = start_registry(root)
    assert blob_status(second.url, REPO, digest) == 404
    status = upload_range(rebase(location, second.url))
    assert status is None or int(status.split("-")[1]) < BLOCKS * MiB
    push_streamed(second.url, block, digest)
    assert_blob_is(second.url, digest, block)
    assert get_blob(second.url, REPO, earlier_digest) == earlier


def test_kill_during_patch_then_resume_from_reported_offset(start_registry, tmp_path):
    root = tmp_path / "storage"
    first = start_registry(root)
    block, digest = big_blob()
    location = patch_chunk(start_upload(first.url, REPO), block, 0)
    headers = {**OCTETS, "Content-Range": f"{MiB}-{BLOCKS * MiB - 1}"}

    stream_until_killed(first, location, "PATCH", block, (BLOCKS - 1) * MiB, headers)

    second = start_registry(root)
    assert blob_status(second.url, REPO, digest) == 404
    location = rebase(location, second.url)
    status = upload_range(location)
    if status is None:  # the registry dropped the session: start again
        push_streamed(second.url, block, digest)
    else:  # resume where the registry says it is, as a client following the spec does
        offset = int(status.split("-")[1]) + 1
        assert MiB <= offset <= (1 + SENT_BLOCKS) * MiB
        data = b"".join(block for _ in range(BLOCKS))  # 32 MiB, acceptable in a test
        location = patch_chunk(location, data[offset:], offset)
        response = requests.put(
            with_query(location, digest=digest),
            timeout=60,
            headers={**OCTETS, "Content-Length": "0"},
        )
        assert response.status_code == 201, response.text
    assert_blob_is(second.url, digest, block)
