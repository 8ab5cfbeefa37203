"""Load generators and probes for the benchmark: manifest requests per second, peak RSS."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench_http import Connection

SAMPLE_INTERVAL = 0.02


def _client_process(port: int, path: str, method: str, threads: int, start: float, stop: float,
                    headers: dict, results) -> None:
    """Run ``threads`` keep-alive loops from ``start`` to ``stop``; put (ok, failed)."""
    counts = [0, 0]
    lock = threading.Lock()

    def loop() -> None:
        ok = failed = 0
        conn = Connection("127.0.0.1", port, timeout=30)
        while time.time() < start:
            time.sleep(0.001)
        while time.time() < stop:
            try:
                response = conn.request(method, path, headers=headers, keep_body=False)
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

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=stop - time.time() + 60)
    results.put(tuple(counts))


def manifest_rps(port: int, path: str, method: str, concurrency: int, seconds: float,
                 headers: dict) -> float:
    """Requests per second answered 200 with ``concurrency`` connections for ``seconds``.

    The connections are spread over up to 4 client processes so that the client's GIL is
    not what is measured. Raises if more than 1 % of the requests failed.
    """
    processes = 1 if concurrency == 1 else min(4, concurrency)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start = time.time() + 0.5
    stop = start + seconds
    procs = [
        context.Process(target=_client_process, args=(
            port, path, method, concurrency // processes + (i < concurrency % processes),
            start, stop, headers, results))
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
