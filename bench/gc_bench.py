"""Garbage collection benchmark: time and memory of ``wharf-registry gc`` at scale.

Populates storage directly (no registry, no HTTP API): ``--blobs`` small blobs and
``--manifests`` manifests spread over ``--repos`` repositories, each manifest referencing
one config and eight layers, so that 90% of ``--blobs`` are referenced at the defaults and the
rest are not; every manifest is tagged. Then ages everything past a short grace window and
runs one collection, printing the population time, the collection time, the blobs freed
(must equal the unreferenced ones) and the collection's peak memory.

The collection runs as production runs it: ``--collector cli`` (the default) starts
``wharf-registry gc`` in a child process with the storage settings in its environment (on S3:
moto's server over HTTP, exactly as a real bucket) and reports the child's wall time and peak
RSS (``wait4``), which is the collector's alone; ``--collector inprocess`` runs
``wharf_registry.gc.Collector`` here under tracemalloc (peak Python allocations; slower).

Population does not go through the collector's code path, so it may be made fast: on disk
the driver from 16 threads, on S3 one boto3 client with a connection pool as large as its
``--threads`` (default 48) writing the very keys the driver writes. moto answers from one
process, which bounds the rate; ``--populate-budget`` stops population at a budget and the
output says ``CUT SHORT`` with the scale reached.

    python bench/gc_bench.py --storage disk                      # 100,000 blobs, 10,000 manifests
    python bench/gc_bench.py --storage s3                        # the same on moto S3
    python bench/gc_bench.py --storage s3 --blobs 20000 --manifests 2000

Run by hand; nothing asserts figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
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
#: The same windows as settings, for ``wharf-registry gc`` in a child process.
GC_ENVIRON = {
    "REGISTRY_GC_GRACE": str(OPTIONS.grace),
    "REGISTRY_GC_UPLOADS_OLDER_THAN": str(OPTIONS.uploads_older_than),
    "REGISTRY_GC_TOUCH_AFTER": str(OPTIONS.touch_after),
    "REGISTRY_GC_PUSH_DEADLINE": str(OPTIONS.push_deadline),
    "REGISTRY_GC_CLOCK_SKEW": str(OPTIONS.clock_skew),
}


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


def populate(put, blobs: int, manifests: int, repos: int, threads: int, budget: float):
    """Write the content with ``put(path, bytes)`` from ``threads`` threads; return the blobs
    and manifests written before the budget ran out, and the blobs those manifests use."""
    stop_at = time.monotonic() + budget
    per = 1 + LAYERS_PER_MANIFEST
    manifests = min(manifests, blobs // per)
    lock = threading.Lock()
    done = {"blobs": 0, "manifests": 0}

    def put_blob(i: int) -> None:
        if time.monotonic() > stop_at:
            return
        data = blob(i)
        put(paths.blob_data(digest_bytes(data)), data)
        with lock:
            done["blobs"] += 1

    def put_manifest(m: int) -> None:
        if time.monotonic() > stop_at:
            return
        body = manifest(m * per)
        digest = digest_bytes(body)
        name = f"bench/repo{m % repos:04d}"
        put(paths.blob_data(digest), body)
        put(paths.revision_link(name, digest), str(digest).encode())
        link = str(digest).encode()
        put(paths.tag_index_link(name, f"t{m}", digest), link)
        put(paths.tag_current(name, f"t{m}"), link)
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


def s3_putter(server, bucket: str, threads: int):
    """``put(path, bytes)`` writing the driver's key for ``path`` (no prefix: the path without
    its leading slash) through one client whose pool serves every thread."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=server.region,
        config=Config(max_pool_connections=threads, retries={"mode": "standard"}),
    )

    def put(path: str, data: bytes) -> None:
        client.put_object(Bucket=bucket, Key=path[1:], Body=data)

    return put


def collect_in_process(driver) -> tuple[float, dict, str]:
    tracemalloc.start()
    t = time.perf_counter()
    summary = Collector(driver, OPTIONS).run().as_json()
    seconds = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return seconds, summary, f"peak traced memory {peak / 2**20:.1f} MiB, process RSS {rss:.0f} MiB"


def collect_in_child(driver, storage_environ: dict[str, str]) -> tuple[float, dict, str]:
    """Run ``wharf-registry gc`` in a child process; its wall time and its own peak RSS."""
    src = [str(HERE.parent / d) for d in ("registry-service/src", "shared-protocol/src")]
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")},
        **storage_environ,
        **GC_ENVIRON,
        "PYTHONPATH": os.pathsep.join([*src, os.environ.get("PYTHONPATH", "")]),
    }
    code = "import sys; from wharf_registry.cli import main; sys.exit(main(['gc']))"
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", code], env=environ, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # reaped here: its rusage, not Popen's wait
        seconds = time.perf_counter() - t
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        said, failed = out.read().decode().strip(), err.read().decode()
    if child.returncode:
        raise SystemExit(f"wharf-registry gc exited {child.returncode}: {failed[-2000:]}")
    summary = json.loads(driver.get_content(paths.GC_LAST_RUN))
    rss = usage.ru_maxrss / 1024  # KiB on Linux
    return seconds, summary, f"peak RSS of wharf-registry gc {rss:.0f} MiB ({said})"


def run(storage: str, args) -> None:
    tmp = tempfile.mkdtemp(prefix="gc-bench-")
    server = None
    try:
        if storage == "disk":
            driver = create_driver("filesystem", {"rootdirectory": tmp})
            put = driver.put_content
            storage_environ = {
                "REGISTRY_STORAGE": "filesystem",
                "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": tmp,
            }
        else:
            from wharf_testing.s3 import TEST_CREDENTIALS, MotoServer

            os.environ.update(TEST_CREDENTIALS)
            server = MotoServer().start()
            bucket = server.create_bucket()
            params = {
                "bucket": bucket,
                "endpoint_url": server.endpoint_url,
                "region": server.region,
            }
            driver = create_driver("s3", params)
            put = s3_putter(server, bucket, args.threads)
            storage_environ = {f"REGISTRY_STORAGE_S3_{k.upper()}": v for k, v in params.items()}
            storage_environ["REGISTRY_STORAGE"] = "s3"
        t = time.perf_counter()
        blobs, manifests, referenced = populate(
            put, args.blobs, args.manifests, args.repos, args.threads, args.populate_budget
        )
        populate_s = time.perf_counter() - t
        objects = blobs + 4 * manifests
        print(
            f"== {storage}: populated {blobs} blobs, {manifests} manifests ({objects} objects) "
            f"in {populate_s:.1f} s ({objects / populate_s:.0f} objects/s)",
            flush=True,
        )
        if storage == "disk":
            age_on_disk(tmp)
        else:
            time.sleep(OPTIONS.grace + 1.5)
        if args.collector == "inprocess":
            gc_s, summary, memory = collect_in_process(driver)
        else:
            gc_s, summary, memory = collect_in_child(driver, storage_environ)
        scale = "full scale" if blobs == args.blobs and manifests == args.manifests else "CUT SHORT"
        print(f"   {scale} (asked {args.blobs} blobs, {args.manifests} manifests)")
        print(
            f"   gc ({args.collector}) {gc_s:.1f} s ({blobs / gc_s:.0f} blobs/s): marked "
            f"{summary['blobs_marked']}, freed {summary['blobs_deleted']} blobs "
            f"({summary['bytes_freed']} B; expected {blobs - referenced}); {memory}",
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
    parser.add_argument("--threads", type=int, default=None, help="default: 16 disk, 48 s3")
    parser.add_argument("--collector", choices=["cli", "inprocess"], default="cli")
    parser.add_argument("--populate-budget", type=float, default=600.0, metavar="SECONDS")
    args = parser.parse_args()
    for storage in ("disk", "s3") if args.storage == "both" else (args.storage,):
        threads = args.threads or (16 if storage == "disk" else 48)
        run(storage, argparse.Namespace(**{**vars(args), "threads": threads}))


if __name__ == "__main__":
    main()
