"""Benchmark the Wharf Registry against the reference registry (CNCF Distribution).

    python bench/registry_bench.py            # full run, by hand (several minutes)
    python bench/registry_bench.py --quick    # a small version, about a minute

For each storage (local disk, and S3 served by moto on loopback) and each registry (Wharf
under gunicorn started through ``wharf-registry serve`` with 2 workers x 16 threads; the
reference registry when ``/usr/bin/docker-registry`` is installed) it measures, with the
same data:

- push and pull of one big layer (256 MiB; ``--quick``: 32 MiB), MB/s, one stream;
- push and pull of 64 layers of 1 MiB at concurrency 1, 16 and 64, MB/s;
- manifest ``HEAD`` and ``GET`` by tag at concurrency 1, 16 and 64, requests per second;
- the registry's peak memory (RSS summed over all its processes, sampled from /proc every
  20 ms) while a 1 GiB blob (``--quick``: 128 MiB) is pushed and pulled.

and prints one table with the ratio Wharf / reference per figure. Throughput figures are
better when higher, memory when lower. Request bodies stream from generators over a few
shared 1 MiB blocks, downloads are discarded into a reused buffer, connections are kept
alive, and manifest load comes from client processes (not threads of one process) so that
the client is not the bottleneck. Everything runs on 127.0.0.1 and every wait is bounded.
Never run by CI; the figures are not asserted anywhere.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench_http import Connection
from bench_servers import MotoS3, Reference, Server, Wharf
from bench_workload import (
    OCI_MANIFEST,
    BlobData,
    MiB,
    concurrently,
    manifest_rps,
    peak_rss_during,
    pss_of,
    pull_blob,
    push_blob,
    push_manifest,
    rss_of,
    timed,
)


@dataclass(frozen=True)
class Plan:
    big: int
    small_count: int
    small_size: int
    levels: tuple[int, ...]
    rps_seconds: float
    memory_blob: int


FULL = Plan(256 * MiB, 64, MiB, (1, 16, 64), 5.0, 1024 * MiB)
QUICK = Plan(32 * MiB, 16, MiB, (1, 16, 64), 1.0, 64 * MiB)


def run_target(
    make_server: Callable[[], Server], plan: Plan, data: dict, report: Callable[[str, float], None]
) -> None:
    """Measure every figure of ``plan`` on servers from ``make_server``; ``report(figure, value)``.

    The memory figure is taken on a second, freshly started server so that it shows what a
    1 GiB push and pull cost, not what the earlier concurrent phases left behind; the peak
    over those phases is reported as its own figure.
    """
    server = make_server()
    try:
        peak = peak_rss_during(server, lambda: measure_speed(server, plan, data, report))
        report("peak RSS over the speed phases (MiB)", peak / MiB)
    finally:
        server.stop()
    server = make_server()
    try:
        time.sleep(2)  # let every worker finish booting
        report("RSS idle, fresh server (MiB)", rss_of(server.pids()) / MiB)
        label = f"{plan.memory_blob // MiB} MiB push+pull"
        peak = peak_rss_during(server, lambda: push_and_pull(server, data["memory"]))
        report(f"peak RSS, {label} (MiB)", peak / MiB)
        peak = peak_rss_during(
            server, lambda: push_and_pull(server, data["memory"], "again"), probe=pss_of
        )
        report(f"peak PSS, {label} again (MiB)", peak / MiB)
    finally:
        server.stop()


def push_and_pull(server: Server, blob: BlobData, repo: str = "first") -> None:
    conn = Connection("127.0.0.1", server.port)
    try:
        push_blob(conn, f"bench/memory-{repo}", blob)
        pull_blob(conn, f"bench/memory-{repo}", blob)
    finally:
        conn.close()


def measure_speed(
    server: Server, plan: Plan, data: dict, report: Callable[[str, float], None]
) -> None:
    """Blob push/pull MB/s and manifest requests per second."""
    conn = Connection("127.0.0.1", server.port)
    size_mb = plan.big / 1e6
    report(
        f"push 1 x {plan.big // MiB} MiB (MB/s)",
        size_mb / timed(lambda: push_blob(conn, "bench/big", data["big"])),
    )
    report(
        f"pull 1 x {plan.big // MiB} MiB (MB/s)",
        size_mb / timed(lambda: pull_blob(conn, "bench/big", data["big"])),
    )
    label = f"{plan.small_count} x {plan.small_size // MiB} MiB"
    for level in plan.levels:
        blobs = data[f"small-{level}"]
        total_mb = sum(b.size for b in blobs) / 1e6
        seconds = concurrently(
            server.port, blobs, level, lambda c, b: push_blob(c, "bench/small", b)
        )
        report(f"push {label} c={level} (MB/s)", total_mb / seconds)
        seconds = concurrently(
            server.port, blobs, level, lambda c, b: pull_blob(c, "bench/small", b)
        )
        report(f"pull {label} c={level} (MB/s)", total_mb / seconds)
    push_manifest(conn, "bench/small", data[f"small-{plan.levels[0]}"])
    conn.close()
    for method in ("HEAD", "GET"):
        for level in plan.levels:
            rps = manifest_rps(
                server.port,
                "/v2/bench/small/manifests/bench",
                method,
                level,
                plan.rps_seconds,
                {"Accept": OCI_MANIFEST},
            )
            report(f"manifest {method} c={level} (req/s)", rps)


def print_table(results: dict, targets: list[str]) -> None:
    storages = list(dict.fromkeys(key[0] for key in results))
    figures = list(dict.fromkeys(key[1] for key in results))
    width = max(len(f) for f in figures) + 2
    header = f"{'figure':<{width}}{'storage':<9}" + "".join(f"{t:>12}" for t in targets)
    header += f"{'ratio':>9}" if len(targets) == 2 else ""
    print("\n" + header + "\n" + "-" * len(header))
    for storage in storages:
        for figure in figures:
            values = [results.get((storage, figure, t)) for t in targets]
            if all(v is None for v in values):
                continue
            line = f"{figure:<{width}}{storage:<9}"
            line += "".join(f"{v:>12.1f}" if v is not None else f"{'-':>12}" for v in values)
            if len(targets) == 2 and None not in values and values[1]:
                line += f"{values[0] / values[1]:>8.2f}x"
            print(line)
    print("\nratio = wharf / reference; higher is better except for peak RSS (lower is better).")


def build_data(plan: Plan) -> dict:
    data: dict = {"big": BlobData(1, plan.big), "memory": BlobData(2, plan.memory_blob)}
    for level in plan.levels:
        data[f"small-{level}"] = [
            BlobData(1000 * level + i, plan.small_size) for i in range(plan.small_count)
        ]
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, ~1 minute")
    parser.add_argument("--storage", default="disk,s3", help="comma list of disk, s3")
    parser.add_argument(
        "--targets",
        default="wharf,reference",
        help="comma list of wharf, reference (skipped when not installed)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    targets = [
        t
        for t in args.targets.split(",")
        if t == "wharf" or (t == "reference" and Reference.available())
    ]
    print(f"plan: {plan}\ntargets: {', '.join(targets)}; preparing data...", flush=True)
    data = build_data(plan)
    workdir = Path(tempfile.mkdtemp(prefix="wharf-bench-"))
    results: dict = {}
    failed = False
    moto: MotoS3 | None = None
    try:
        for storage in args.storage.split(","):
            if storage == "s3" and moto is None:
                moto = MotoS3(workdir)
            for target in targets:
                print(f"== {target} on {storage}", flush=True)

                def make_server(storage=storage, target=target, s3=moto) -> Server:
                    if target == "wharf":
                        return Wharf(workdir, storage, s3, args.workers, args.threads)
                    return Reference(workdir, storage, s3)

                def report(figure: str, value: float, storage=storage, target=target) -> None:
                    results[(storage, figure, target)] = value
                    print(f"   {figure:<44}{value:>10.1f}", flush=True)

                try:
                    run_target(make_server, plan, data, report)
                except Exception as exc:  # noqa: BLE001 - keep measuring the other targets
                    failed = True
                    print(f"   FAILED: {exc!r} (server logs in {workdir})", flush=True)
    finally:
        if moto is not None:
            moto.stop()
    print_table(results, targets)
    if failed:
        print(f"\nsome runs failed; logs kept in {workdir}")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
