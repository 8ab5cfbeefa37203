"""Garbage collection benchmark: time and memory of ``wharf-registry gc`` at scale.

Populates storage directly through the driver (no HTTP): ``--blobs`` small blobs and
``--manifests`` manifests spread over ``--repos`` repositories, each manifest referencing
one config and eight layers, so that 90% of ``--blobs`` are referenced at the defaults and the
rest are not; every manifest is tagged. Then ages everything past a short grace window and
runs one collection, printing the time of each phase, the blobs freed (must equal the
unreferenced ones) and the peak Python memory of the collection (tracemalloc) and the
process's peak RSS.

    python bench/gc_bench.py --storage disk                      # 100,000 blobs, 10,000 manifests
    python bench/gc_bench.py --storage s3 --blobs 20000 --manifests 2000
    python bench/gc_bench.py --storage s3 --populate-budget 600  # stop populating after 10 min

On S3 (moto's server, started here) population uses threads; with ``--populate-budget`` it
stops at the budget and reports the scale it reached. Run by hand; nothing asserts figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
for src in ("registry-service/src", "shared-protocol/src", "testing/src"):
    sys.path.insert(0, str(HERE.parent / src))

from wharf_protocol import mediatypes  # noqa: E402
from wharf_protocol.digests import digest_bytes  # noqa: E402
from wharf_registry.content import paths  # noqa: E402
from wharf_registry.gc import Collector, GcOptions  # noqa: E402
from wharf_registry.storage import create_driver  # noqa: E402

LAYERS_PER_MANIFEST = 8
OPTIONS = GcOptions(
    grace=2.0, uploads_older_than=3600, touch_after=0.5, push_deadline=0.5, clock_skew=0.5
)


def blob(i: int) -> bytes:
    return f"bench-blob-{i:09d}".encode()


def manifest(first: int) -> bytes:
    def desc(i: int, media_type: str) -> dict:
        return {"mediaType": media_type, "digest": str(digest_bytes(blob(i))), "size": 20}

    doc = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": desc(first, mediatypes.OCI_CONFIG),
        "layers": [
            desc(first + k, mediatypes.OCI_LAYER_GZIP) for k in range(1, LAYERS_PER_MANIFEST + 1)
        ],
    }
    return json.dumps(doc).encode()


def populate(driver, blobs: int, manifests: int, repos: int, threads: int, budget: float):
    """Write the content; return (blobs, manifests) written before the budget ran out."""
    stop_at = time.monotonic() + budget
    per = 1 + LAYERS_PER_MANIFEST
    manifests = min(manifests, blobs // per)
    lock = threading.Lock()
    done = {"blobs": 0, "manifests": 0}

    def put_blob(i: int) -> None:
        if time.monotonic() > stop_at:
            return
        data = blob(i)
        driver.put_content(paths.blob_data(digest_bytes(data)), data)
        with lock:
            done["blobs"] += 1

    def put_manifest(m: int) -> None:
        if time.monotonic() > stop_at:
            return
        body = manifest(m * per)
        digest = digest_bytes(body)
        name = f"bench/repo{m % repos:04d}"
        driver.put_content(paths.blob_data(digest), body)
        driver.put_content(paths.revision_link(name, digest), str(digest).encode())
        link = str(digest).encode()
        driver.put_content(paths.tag_index_link(name, f"t{m}", digest), link)
        driver.put_content(paths.tag_current(name, f"t{m}"), link)
        with lock:
            done["manifests"] += 1

    with ThreadPoolExecutor(threads) as pool:
        # the blobs of whole manifests first, so a cut-short run stays consistent
        list(pool.map(put_blob, range(blobs)))
        list(pool.map(put_manifest, range(manifests)))
    return done["blobs"], done["manifests"], min(done["blobs"], done["manifests"] * per)


def age_on_disk(root: str) -> None:
    then = time.time() - 3600
    for top, _, files in os.walk(root):
        for f in files:
            os.utime(os.path.join(top, f), (then, then))


def run(storage: str, args) -> None:
    tmp = tempfile.mkdtemp(prefix="gc-bench-")
    server = None
    try:
        if storage == "disk":
            driver = create_driver("filesystem", {"rootdirectory": tmp})
        else:
            from wharf_testing.s3 import TEST_CREDENTIALS, MotoServer

            os.environ.update(TEST_CREDENTIALS)
            server = MotoServer().start()
            bucket = server.create_bucket()
            driver = create_driver(
                "s3",
                {"bucket": bucket, "endpoint_url": server.endpoint_url, "region": server.region},
            )
        t = time.perf_counter()
        blobs, manifests, referenced = populate(
            driver, args.blobs, args.manifests, args.repos, args.threads, args.populate_budget
        )
        populate_s = time.perf_counter() - t
        print(
            f"== {storage}: populated {blobs} blobs, {manifests} manifests in {populate_s:.1f} s",
            flush=True,
        )
        if storage == "disk":
            age_on_disk(tmp)
        else:
            time.sleep(OPTIONS.grace + 1.5)
        tracemalloc.start()
        t = time.perf_counter()
        summary = Collector(driver, OPTIONS).run()
        gc_s = time.perf_counter() - t
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        scale = "full scale" if blobs == args.blobs and manifests == args.manifests else "CUT SHORT"
        print(f"   {scale} (asked {args.blobs} blobs, {args.manifests} manifests)")
        print(
            f"   gc {gc_s:.1f} s: marked {summary.blobs_marked}, freed {summary.blobs_deleted} "
            f"blobs ({summary.bytes_freed} B; expected {blobs - referenced}), "
            f"peak traced memory {peak / 2**20:.1f} MiB, peak RSS {rss:.0f} MiB",
            flush=True,
        )
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--storage", choices=["disk", "s3", "both"], default="both")
    parser.add_argument("--blobs", type=int, default=100_000)
    parser.add_argument("--manifests", type=int, default=10_000)
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--populate-budget", type=float, default=600.0, metavar="SECONDS")
    args = parser.parse_args()
    for storage in ("disk", "s3") if args.storage == "both" else (args.storage,):
        run(storage, args)


if __name__ == "__main__":
    main()
