"""Workloads and probes shared by the benchmarks: the blobs and image (push, pull), manifest
requests per second, requests with a fresh token each, peak RSS/PSS, CPU of process trees."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench_http import Connection

SAMPLE_INTERVAL = 0.02
MiB = 1 << 20
OCTETS = {"Content-Type": "application/octet-stream"}
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class BlobData:
    """A blob of ``size`` bytes made of shared random 1 MiB blocks, unique per ``salt``.

    ``chunks()`` yields the bytes without ever building the blob; ``digest`` is computed once.
    """

    _POOL: list[bytes] = []

    def __init__(self, salt: int, size: int) -> None:
        if not BlobData._POOL:
            rng = random.Random(20240601)
            BlobData._POOL = [rng.randbytes(MiB) for _ in range(8)]
        self.salt, self.size = salt, size
        hasher = hashlib.sha256()
        for chunk in self.chunks():
            hasher.update(chunk)
        self.digest = "sha256:" + hasher.hexdigest()

    def chunks(self) -> Iterator[bytes]:
        left, index = self.size, 0
        header = hashlib.sha256(f"wharf-bench-{self.salt}".encode()).digest()
        while left > 0:
            block = BlobData._POOL[(self.salt + index) % len(BlobData._POOL)]
            if index == 0:
                block = header + block[len(header) :]
            piece = block[: min(left, MiB)]
            yield piece
            left -= len(piece)
            index += 1


def push_blob(conn: Connection, repo: str, blob: BlobData) -> None:
    """end-4b + end-6: POST a session, PUT the streamed body with ``?digest=``."""
    started = conn.request("POST", f"/v2/{repo}/blobs/uploads/")
    if started.status != 202:
        raise RuntimeError(f"POST upload: {started.status} {started.body[:300]!r}")
    location = started.headers["location"]
    path = location.split("://", 1)[1].split("/", 1)[1] if "://" in location else location
    sep = "&" if "?" in path else "?"
    done = conn.request(
        "PUT",
        f"/{path.lstrip('/')}{sep}digest={blob.digest}",
        headers=OCTETS,
        body=blob.chunks(),
        length=blob.size,
    )
    if done.status != 201:
        raise RuntimeError(f"PUT upload: {done.status} {done.body[:300]!r}")


def pull_blob(conn: Connection, repo: str, blob: BlobData, verify: bool = False) -> None:
    """GET a blob, discarding its bytes; ``verify``: hash them as they arrive and compare
    with the digest, as pulling clients (Docker, containerd, skopeo) do."""
    response = conn.request(
        "GET", f"/v2/{repo}/blobs/{blob.digest}", keep_body=False, hash_body=verify
    )
    if response.status != 200 or response.length != blob.size:
        raise RuntimeError(f"GET blob: {response.status}, {response.length} of {blob.size} bytes")
    if verify and response.digest != blob.digest:
        raise RuntimeError(f"GET blob {blob.digest}: the body's digest is {response.digest}")


def timed(work: Callable[[], None]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def concurrently(
    port: int,
    blobs: list[BlobData],
    level: int,
    action: Callable[[Connection, BlobData], None],
    headers: dict[str, str] | None = None,
) -> float:
    """Run ``action`` over ``blobs`` from ``level`` threads, one connection each (sending
    ``headers`` with every request); return the seconds it took."""
    queue = list(blobs)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        conn = Connection("127.0.0.1", port, headers=headers)
        try:
            while True:
                with lock:
                    if not queue or errors:
                        return
                    blob = queue.pop()
                action(conn, blob)
        except Exception as exc:  # noqa: BLE001 - reported after the join
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(level)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed


def manifest_for(config: bytes, layers: list[BlobData]) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": b.digest,
                    "size": b.size,
                }
                for b in layers
            ],
        },
        separators=(",", ":"),
    ).encode()


def push_manifest(conn: Connection, repo: str, layers: list[BlobData]) -> None:
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    ).encode()
    response = conn.request(
        "POST",
        f"/v2/{repo}/blobs/uploads/?digest=sha256:" + hashlib.sha256(config).hexdigest(),
        headers=OCTETS,
        body=config,
    )
    if response.status not in (201, 202):
        raise RuntimeError(f"config upload: {response.status}")
    if response.status == 202:  # the reference has no monolithic POST: finish with a PUT
        location = response.headers["location"].split("://", 1)[-1].split("/", 1)[-1]
        sep = "&" if "?" in location else "?"
        digest = "sha256:" + hashlib.sha256(config).hexdigest()
        done = conn.request(
            "PUT", f"/{location.lstrip('/')}{sep}digest={digest}", headers=OCTETS, body=config
        )
        if done.status != 201:
            raise RuntimeError(f"config PUT: {done.status}")
    body = manifest_for(config, layers)
    response = conn.request(
        "PUT", f"/v2/{repo}/manifests/bench", headers={"Content-Type": OCI_MANIFEST}, body=body
    )
    if response.status != 201:
        raise RuntimeError(f"manifest PUT: {response.status} {response.body[:300]!r}")
    check = conn.request("GET", f"/v2/{repo}/manifests/bench", headers={"Accept": OCI_MANIFEST})
    if check.body != body:
        raise RuntimeError("manifest GET returned other bytes than were pushed")


def _client_process(
    port: int,
    path: str,
    method: str,
    threads: int,
    start: float,
    stop: float,
    headers: dict,
    results,
    bodies: list[bytes] | None = None,
) -> None:
    """Run ``threads`` keep-alive loops from ``start`` to ``stop``; put (ok, failed).

    With ``bodies``, each request sends the next of them (each thread starts elsewhere)."""
    counts = [0, 0]
    lock = threading.Lock()

    def loop(offset: int) -> None:
        ok = failed = 0
        conn = Connection("127.0.0.1", port, timeout=30)
        n = offset
        while time.time() < start:
            time.sleep(0.001)
        while time.time() < stop:
            body = bodies[n % len(bodies)] if bodies else None
            n += 1
            try:
                response = conn.request(method, path, headers=headers, body=body, keep_body=False)
            except OSError:
                failed += 1
                continue
            if response.status == 200:
                ok += 1
            else:
                failed += 1
        conn.close()
        with lock:
            counts[0] += ok
            counts[1] += failed

    pid_offset = os.getpid() * 7919
    workers = [
        threading.Thread(target=loop, args=(pid_offset + i * 104729,)) for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=stop - time.time() + 60)
    results.put(tuple(counts))


def manifest_rps(
    port: int,
    path: str,
    method: str,
    concurrency: int,
    seconds: float,
    headers: dict,
    bodies: list[bytes] | None = None,
) -> float:
    """Requests per second answered 200 with ``concurrency`` connections for ``seconds``
    (any request, not only manifests: with ``bodies`` each request sends the next one).

    The connections are spread over up to 4 client processes so that the client's GIL is
    not what is measured. Raises if more than 1 % of the requests failed.
    """
    processes = 1 if concurrency == 1 else min(4, concurrency)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start = time.time() + 0.5
    stop = start + seconds
    procs = [
        context.Process(
            target=_client_process,
            args=(
                port,
                path,
                method,
                concurrency // processes + (i < concurrency % processes),
                start,
                stop,
                headers,
                results,
                bodies,
            ),
        )
        for i in range(processes)
    ]
    for proc in procs:
        proc.start()
    totals = [results.get(timeout=seconds + 120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    ok = sum(t[0] for t in totals)
    failed = sum(t[1] for t in totals)
    if failed > 0.01 * max(ok, 1):
        raise RuntimeError(f"{method} {path}: {failed} failed requests against {ok} answered")
    return ok / seconds


def rss_of(pids: list[int]) -> int:
    """Sum of VmRSS (bytes) of ``pids``; processes that vanished count 0."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


def pss_of(pids: list[int]) -> int:
    """Sum of Pss (bytes): pages shared by gunicorn's forked processes are counted once."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


def peak_rss_during(server, work: Callable[[], None], probe=rss_of) -> int:
    """Run ``work`` while sampling ``probe(server.pids())`` (RSS sum); return the peak."""
    peak = probe(server.pids())
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, probe(server.pids()))
            done.wait(SAMPLE_INTERVAL)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        work()
    finally:
        done.set()
        sampler.join(timeout=10)
    return peak


def fresh_token_rps(
    port: int,
    path: str,
    method: str,
    concurrency: int,
    tokens: list[str],
    seconds: float,
    headers: dict,
) -> float:
    """Requests per second answered 200 when every request carries a token never used before.

    ``concurrency`` threads, one keep-alive connection each, take the next unused token of
    ``tokens`` until none is left or ``seconds`` pass. Raises if any request failed.
    """
    pending = list(reversed(tokens))
    lock = threading.Lock()
    counts = [0]
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    def loop() -> None:
        conn = Connection("127.0.0.1", port, timeout=30, headers=headers)
        try:
            while time.perf_counter() < deadline:
                with lock:
                    if not pending or errors:
                        return
                    token = pending.pop()
                response = conn.request(
                    method, path, keep_body=False, headers={"Authorization": f"Bearer {token}"}
                )
                if response.status != 200:
                    errors.append(f"{method} {path}: {response.status}")
                    return
                with lock:
                    counts[0] += 1
        except OSError as exc:
            errors.append(repr(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=loop) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(errors[0])
    return counts[0] / elapsed


def tree_cpu(roots: list[int]) -> float:
    """CPU seconds (user + system) used so far by ``roots`` and all their descendants."""
    parents, cpu = {}, {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
            cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for pid in cpu:
        node = pid
        while node and node not in roots:
            node = parents.get(node, 0)
        total += cpu[pid] if node else 0.0
    return total
