"""A client that declares a Content-Length, sends half of it and hangs up leaves nothing visible.

The registry runs under gunicorn (not the Flask test client), so the short body really
arrives through a socket that reaches EOF. After each truncated request: the blob answers
404, the upload session is unaffected (same ``Range``) or gone (404), and a complete push of
the same bytes still works.
"""

from __future__ import annotations

import os

import pytest
import requests
from registry_http import (
    TIMEOUT,
    blob_status,
    digest_of,
    get_blob,
    open_request,
    patch_chunk,
    push_blob,
    send_truncated,
    start_upload,
    upload_range,
    with_query,
)

REPO = "faults/truncated"
OCTETS = {"Content-Type": "application/octet-stream"}
MiB = 1 << 20


def test_truncated_put_with_digest(start_registry):
    base = start_registry().url
    data = os.urandom(2 * MiB)
    digest = digest_of(data)
    location = start_upload(base, REPO)
    before = upload_range(location)

    send_truncated(with_query(location, digest=digest), "PUT", data, MiB, OCTETS)

    assert blob_status(base, REPO, digest) == 404
    assert upload_range(location) in (None, before)
    assert push_blob(base, REPO, data) == digest
    assert get_blob(base, REPO, digest) == data


def test_truncated_monolithic_post(start_registry):
    base = start_registry().url
    data = os.urandom(MiB + 123)
    digest = digest_of(data)

    send_truncated(
        f"{base}/v2/{REPO}/blobs/uploads/?digest={digest}", "POST", data, len(data) // 2, OCTETS
    )

    assert blob_status(base, REPO, digest) == 404
    assert push_blob(base, REPO, data) == digest
    assert get_blob(base, REPO, digest) == data


def test_truncated_patch_keeps_the_acknowledged_chunks(start_registry):
    base = start_registry().url
    first, second = os.urandom(MiB), os.urandom(2 * MiB)
    data = first + second
    digest = digest_of(data)
    location = patch_chunk(start_upload(base, REPO), first, 0)
    before = upload_range(location)
    assert before == f"0-{MiB - 1}"

    headers = {**OCTETS, "Content-Range": f"{MiB}-{len(data) - 1}"}
    send_truncated(location, "PATCH", second, MiB // 2, headers)

    assert blob_status(base, REPO, digest) == 404
    after = upload_range(location)
    assert after in (None, before)
    if after is None:
        assert push_blob(base, REPO, data) == digest
    else:
        location = patch_chunk(location, second, MiB)
        finished = _finish(location, digest)
        assert finished.status_code == 201, finished.text
    assert get_blob(base, REPO, digest) == data


def test_truncated_blob_leaves_other_repositories_and_blobs_alone(start_registry):
    base = start_registry().url
    kept = os.urandom(300 * 1024)
    kept_digest = push_blob(base, "faults/kept", kept)
    data = os.urandom(MiB)
    location = start_upload(base, REPO)

    send_truncated(with_query(location, digest=digest_of(data)), "PUT", data, 1000, OCTETS)

    assert get_blob(base, "faults/kept", kept_digest) == kept
    assert blob_status(base, REPO, digest_of(data)) == 404


def _finish(location: str, digest: str) -> requests.Response:
    return requests.put(
        with_query(location, digest=digest), timeout=30, headers={"Content-Length": "0", **OCTETS}
    )


def test_a_stalled_body_is_dropped_not_waited_for_forever(start_registry):
    registry = start_registry(REGISTRY_HTTP_BODY_TIMEOUT="2")
    location = start_upload(registry.url, "team/app")
    sock = open_request(location, "PATCH", 1000, {"Content-Type": "application/octet-stream"})
    try:
        sock.sendall(b"x" * 10)  # then nothing: the client stalls but keeps the connection
        sock.settimeout(TIMEOUT)
        try:
            while sock.recv(65536):  # the server answers and/or closes
                pass
        except ConnectionResetError:
            pass
        except TimeoutError:
            pytest.fail(f"the registry still waited for the body after {TIMEOUT} s")
    finally:
        sock.close()
    assert upload_range(location) is None  # the stalled upload was discarded
    data = b"after the stall"
    assert get_blob(registry.url, "team/app", push_blob(registry.url, "team/app", data)) == data
