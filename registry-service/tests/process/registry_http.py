"""Small HTTP helpers for the process tests: blob uploads, and requests that die mid-body.

Uses requests for ordinary calls and raw sockets where the test needs to misbehave on
the wire (declare a Content-Length and send less, or be cut off by a killed server).
"""

from __future__ import annotations

import hashlib
import http.client
import socket
import time
from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

import requests

TIMEOUT = 30


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def start_upload(base: str, repo: str) -> str:
    """end-4b: POST an upload session; return its absolute Location."""
    response = requests.post(f"{base}/v2/{repo}/blobs/uploads/", timeout=TIMEOUT)
    assert response.status_code == 202, response.text
    return urljoin(base, response.headers["Location"])


def with_query(url: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}{'&' if '?' in url else '?'}{query}"


def push_blob(base: str, repo: str, data: bytes) -> str:
    """POST a session, PUT the whole body with ?digest=; assert 201; return the digest."""
    digest = digest_of(data)
    location = start_upload(base, repo)
    response = requests.put(
        with_query(location, digest=digest),
        data=data,
        timeout=TIMEOUT,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == digest
    return digest


def patch_chunk(location: str, data: bytes, start: int) -> str:
    """PATCH one chunk at ``start``; assert 202; return the next absolute Location."""
    response = requests.patch(
        location,
        data=data,
        timeout=TIMEOUT,
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Range": f"{start}-{start + len(data) - 1}",
        },
    )
    assert response.status_code == 202, response.text
    return urljoin(location, response.headers["Location"])


def blob_status(base: str, repo: str, digest: str) -> int:
    return requests.head(f"{base}/v2/{repo}/blobs/{digest}", timeout=TIMEOUT).status_code


def get_blob(base: str, repo: str, digest: str) -> bytes:
    response = requests.get(f"{base}/v2/{repo}/blobs/{digest}", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.content


def upload_range(location: str) -> str | None:
    """end-13: the upload's ``Range`` header (``0-<last byte>``), or None if it is gone (404)."""
    response = requests.get(location, timeout=TIMEOUT)
    if response.status_code == 404:
        return None
    assert response.status_code == 204, response.text
    return response.headers["Range"]


def open_request(url: str, method: str, length: int, headers: dict[str, str]) -> socket.socket:
    """Connect and send ``METHOD url`` with ``Content-Length: length``; the body is up to you."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    sock = socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT)
    head = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {length}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    return sock


def send_truncated(url: str, method: str, body: bytes, sent: int, headers: dict[str, str]) -> bytes:
    """Declare ``len(body)`` bytes, send ``sent`` of them, hang up; return what came back.

    Waits (bounded) until the server closes the connection, so that whatever the server
    did with the short body is finished when this returns.
    """
    sock = open_request(url, method, len(body), headers)
    try:
        sock.sendall(body[:sent])
        sock.shutdown(socket.SHUT_WR)
        return _drain(sock, deadline=time.monotonic() + TIMEOUT)
    finally:
        sock.close()


def _drain(sock: socket.socket, deadline: float) -> bytes:
    received = b""
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        received += chunk
    return received


def stream_request(
    url: str, method: str, chunks: Iterable[bytes], length: int, headers: dict[str, str]
) -> tuple[int, bytes]:
    """Send ``chunks`` (``length`` bytes in all) as the body, never holding them all at once."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        conn.putrequest(method, parts.path + (f"?{parts.query}" if parts.query else ""))
        for name, value in {**headers, "Content-Length": str(length)}.items():
            conn.putheader(name, value)
        conn.endheaders()
        for chunk in chunks:
            conn.send(chunk)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()
