"""Upload ids and races on real gunicorn processes (raw request targets, two processes).

An upload id that is not one the registry made is no session: every method answers 404
``BLOB_UPLOAD_UNKNOWN`` (ids are sent raw, so that ``%2e%2e`` or ``%00`` reach the server as
such). Two PUTs completing one upload at once, sent to two processes on one storage: one
publishes the blob (201), the other gets 201 too or 404 ``BLOB_UPLOAD_UNKNOWN``, never a 500.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
from urllib.parse import urlsplit

import requests
from registry_http import TIMEOUT, digest_of, get_blob, patch_chunk, start_upload, with_query

REPO = "races/app"
ROUNDS = 12
BAD_IDS = ["%2e%2e", ".", "x:y", "a%7Cb", "%C2%AD", "x%00", "a" * 300]


def raw(base: str, method: str, target: str, body: bytes = b"") -> tuple[int, dict]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        conn.request(method, target, body=body, headers={"Content-Length": str(len(body))})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def test_upload_ids_the_registry_never_made_are_unknown(start_registry):
    base = start_registry().url
    start_upload(base, REPO)
    for upload_id in BAD_IDS:
        for method in ("GET", "PATCH", "PUT", "DELETE"):
            query = f"?digest={digest_of(b'x')}" if method == "PUT" else ""
            status, body = raw(
                base,
                method,
                f"/v2/{REPO}/blobs/uploads/{upload_id}{query}",
                b"x" if method in ("PATCH", "PUT") else b"",
            )
            assert (status, [e["code"] for e in body.get("errors", [])]) == (
                404,
                ["BLOB_UPLOAD_UNKNOWN"],
            ), (method, upload_id)


def put_at_once(urls: list[str]) -> list[requests.Response]:
    """PUT every URL from its own thread, all released together; return the answers."""
    barrier, answers = threading.Barrier(len(urls)), []

    def put(url: str) -> None:
        barrier.wait(timeout=TIMEOUT)
        answers.append(requests.put(url, timeout=TIMEOUT))

    threads = [threading.Thread(target=put, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * TIMEOUT)
    assert len(answers) == len(urls)
    return answers


def test_two_processes_completing_one_upload_at_once(start_registry, tmp_path):
    root = tmp_path / "shared"
    first, second = start_registry(root), start_registry(root)
    for n in range(ROUNDS):
        data = os.urandom(64 * 1024 + n)
        digest = digest_of(data)
        path = urlsplit(patch_chunk(start_upload(first.url, REPO), data, 0)).path
        answers = put_at_once(
            [with_query(base + path, digest=digest) for base in (first.url, second.url)]
        )
        assert sorted(r.status_code for r in answers) in ([201, 201], [201, 404]), [
            r.text for r in answers
        ]
        assert all(
            r.json()["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN"
            for r in answers
            if r.status_code == 404
        )
        assert get_blob(first.url, REPO, digest) == data
    uploads = root / "docker/registry/v2/repositories" / REPO / "_uploads"
    assert list(uploads.iterdir()) == []
