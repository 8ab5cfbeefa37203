"""The pull-through cache side by side with its upstream, in one run on 127.0.0.1 (run by
hand, never by CI; nothing is asserted).

    nice -n 10 python bench/proxy_bench.py            # 256 MiB image and 64 x 1 MiB image
    nice -n 10 python bench/proxy_bench.py --quick    # 32 MiB and 16 x 1 MiB
    nice -n 10 python bench/proxy_bench.py --rounds 5
    nice -n 10 python bench/proxy_bench.py --plain-client   # the client does not hash

The upstream is the reference registry (Debian's ``docker-registry``) on disk; the mirror
is ``wharf-registry serve`` (2 workers x 16 threads, disk) with
``REGISTRY_PROXY_REMOTEURL`` pointing at it. Two images are pushed to the upstream once.
Each round, for each image, pulled as a client does (manifest by tag, then every blob;
the big image on one connection, the 64-layer image from 8 connections), the client
hashing every blob as it arrives and comparing the digest, as Docker, containerd and
skopeo do (``--plain-client``: bytes counted and dropped, no hashing):

- ``straight``: from the upstream;
- ``mirror, first``: through a freshly started mirror with an empty cache (every blob
  fetched, streamed and written while it is sent);
- ``mirror, cached``: the same pull again from that mirror's cache;
- ``reference mirror, first`` / ``cached``: the same through the reference registry
  configured as a pull-through cache (``proxy.remoteurl``), for comparison.

MB/s (medians over rounds) and the ratio of each mirror figure to ``straight``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

from bench_http import Connection
from bench_servers import Reference, Wharf
from bench_workload import (
    OCI_MANIFEST,
    BlobData,
    MiB,
    concurrently,
    pull_blob,
    push_blob,
    push_manifest,
    timed,
)

BIG, SMALL = "library/big", "library/small"


HOW = (
    "straight",
    "mirror, first",
    "mirror, cached",
    "reference mirror, first",
    "reference mirror, cached",
)


def pull_image(
    port: int, repo: str, layers: list[BlobData], connections: int, verify: bool
) -> float:
    """Seconds to GET the manifest by tag, then every layer over ``connections``."""

    def work() -> None:
        conn = Connection("127.0.0.1", port)
        try:
            got = conn.request(
                "GET", f"/v2/{repo}/manifests/bench", headers={"Accept": OCI_MANIFEST}
            )
            if got.status != 200:
                raise RuntimeError(f"manifest GET {repo}: {got.status} {got.body[:200]!r}")
        finally:
            conn.close()
        concurrently(port, layers, connections, lambda c, b: pull_blob(c, repo, b, verify))

    return timed(work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="32 MiB and 16 x 1 MiB")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--plain-client", action="store_true", help="the client does not hash what it pulls"
    )
    args = parser.parse_args()
    big_size, small_count = (32 * MiB, 16) if args.quick else (256 * MiB, 64)
    workdir = Path(tempfile.mkdtemp(prefix="wharf-proxy-bench-"))
    big = [BlobData(1, big_size)]
    small = [BlobData(100 + i, MiB) for i in range(small_count)]
    images = {
        f"1 x {big_size // MiB} MiB": (BIG, big, 1),
        f"{small_count} x 1 MiB": (SMALL, small, 8),
    }
    figures: dict[tuple[str, str], list[float]] = {}
    upstream = Reference(workdir, "disk")
    servers = [upstream]
    ok = False
    try:
        conn = Connection("127.0.0.1", upstream.port)
        for repo, layers, _ in images.values():
            for blob in layers:
                push_blob(conn, repo, blob)
            push_manifest(conn, repo, layers)
        conn.close()
        for round_ in range(args.rounds):
            mirror = Wharf(workdir, "disk", extra_env={"REGISTRY_PROXY_REMOTEURL": upstream.url})
            reference = Reference(workdir, "disk", proxy=upstream.url)
            servers += [mirror, reference]
            served_by = (upstream, mirror, mirror, reference, reference)
            ports = {how: server.port for how, server in zip(HOW, served_by, strict=True)}
            for label, (repo, layers, connections) in images.items():
                size = sum(b.size for b in layers) / 1e6
                for how, port in ports.items():
                    seconds = pull_image(port, repo, layers, connections, not args.plain_client)
                    figures.setdefault((label, how), []).append(size / seconds)
            mirror.stop()
            reference.stop()
            print(f"round {round_ + 1}/{args.rounds} done", flush=True)
        ok = True
    finally:
        for server in servers:
            server.stop()
        if ok:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs kept in {workdir}")
    client = "plain (no hashing)" if args.plain_client else "verifying (SHA-256 as it reads)"
    print(f"\nclient: {client}")
    print(f"{'image':<16} {'pull':<26} {'MB/s':>8} {'x straight':>11}")
    for label in images:
        straight = statistics.median(figures[(label, "straight")])
        for how in HOW:
            value = statistics.median(figures[(label, how)])
            print(f"{label:<16} {how:<26} {value:>8.1f} {value / straight:>10.2f}x")


if __name__ == "__main__":
    main()
