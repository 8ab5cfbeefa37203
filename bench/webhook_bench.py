"""Benchmark webhooks: how soon a push's webhook arrives, and how fast the worker delivers
(run by hand, never by CI).

    python bench/webhook_bench.py --quick     # about a minute: 20 pushes, 300 deliveries
    python bench/webhook_bench.py             # 100 pushes, 1000 deliveries

Starts bench_stack's PostgreSQL, Index (2 workers x 8 threads) and user, a registry in
token mode (2 x 16, durable events to the Index), ``wharf-index worker`` and a receiver
(wharf_testing.receiver in this process, answering 204 at once), all on 127.0.0.1; stops
everything by pid at the end.

- **Push to webhook**: ``--pushes`` times, skopeo copies a small new image (one 4 KiB
  layer) from an OCI layout to ``bench/app:<n>`` (``--dest-creds``, as a CI job does); the
  figure is the time from skopeo's exit to the arrival of that tag's ``tag_pushed``
  webhook at the receiver (registry event, outbox delivery to the Index, the Index
  applying it and queueing the delivery, the worker's wake-up and POST). p50, p95, max.
- **Worker throughput**: ``--deliveries`` pings queued at once over 20 webhooks (rows
  inserted in one transaction, then one ``NOTIFY``, as the Index's enqueue does), timed
  from the commit to the last arrival, with the worker's ``--threads`` 4 and 8.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg2  # noqa: E402
from bench_stack import _CLI, PASSWORD, USER, IndexStack  # puts the sources on sys.path
from wharf_index.services import secret_box  # noqa: E402
from wharf_testing import processes  # noqa: E402
from wharf_testing.receiver import Answer, Received, Receiver  # noqa: E402

REGISTRY_NAME = "bench"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def pushed_tag(received: Received) -> str:
    """The tag a ``tag_pushed`` webhook reports ("" for other deliveries)."""
    if received.header("X-Wharf-Event") != "tag_pushed":
        return ""
    return received.json()["push_data"]["tag"]


class Stack(IndexStack):
    """The bench stack (bench_stack.IndexStack) with a token-mode registry and the worker."""

    def __init__(self, workdir: Path) -> None:
        super().__init__("wharf_webhook_bench", INDEX_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8")
        self.workdir = workdir
        self.worker: subprocess.Popen[bytes] | None = None
        try:
            root = workdir / "storage"
            root.mkdir()
            self.token_registry, _ = self.registry(root, "token", REGISTRY_NAME)
        except BaseException:
            self.close()
            raise

    def start_worker(self, threads: int) -> None:
        self.stop_worker()
        env = processes.base_env() | self.index_env | {"INDEX_LOG_LEVEL": "INFO"}
        log = open(self.workdir / "worker.log", "ab")  # noqa: SIM115 - the child writes it
        argv = [sys.executable, "-c", _CLI, "worker", "--threads", str(threads)]
        self.worker = processes.spawn(argv, env=env, log=log)
        log.close()
        deadline = time.monotonic() + 30
        while b"webhook worker started" not in (self.workdir / "worker.log").read_bytes():
            if time.monotonic() > deadline or self.worker.poll() is not None:
                raise RuntimeError((self.workdir / "worker.log").read_text())
            time.sleep(0.05)

    def stop_worker(self) -> None:
        if self.worker is not None:
            processes.terminate(self.worker, grace=15.0, group=True)
            self.worker = None

    def close(self) -> None:
        self.stop_worker()
        super().close()


def write_layout(path: Path, tag: str) -> str:
    """An OCI layout at ``path`` holding one new image tagged ``tag`` (a 4 KiB layer)."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data: bytes, media_type: str) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    layer = blob(os.urandom(4096), "application/vnd.oci.image.layer.v1.tar")
    config = blob(
        json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
            }
        ).encode(),
        "application/vnd.oci.image.config.v1+json",
    )
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}
    entry = blob(json.dumps(manifest).encode(), OCI_MANIFEST)
    entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return f"oci:{path}:{tag}"


def create_webhook(stack: Stack, url: str) -> None:
    import requests

    answer = requests.post(
        f"{stack.index.url}/api/v1/namespaces/{USER}/webhooks",
        json={"url": url, "events": ["tag_pushed"]},
        auth=(USER, PASSWORD),
        timeout=10,
    )
    if answer.status_code != 201:
        raise RuntimeError(f"webhook create: {answer.status_code} {answer.text}")


def push_to_webhook(stack: Stack, receiver: Receiver, pushes: int) -> list[float]:
    """Seconds from each skopeo push's exit to its webhook's arrival."""
    registry = stack.token_registry.url.removeprefix("http://")
    latencies = []
    for n in range(pushes):
        tag = f"t{n}"
        source = write_layout(stack.workdir / f"layout-{n}", tag)
        subprocess.run(
            [
                "skopeo",
                "copy",
                "--quiet",
                "--dest-tls-verify=false",
                "--dest-creds",
                f"{USER}:{PASSWORD}",
                source,
                f"docker://{registry}/{USER}/app:{tag}",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        done = time.monotonic()
        items = receiver.wait(lambda got, t=tag: any(pushed_tag(r) == t for r in got), 60)
        arrived = next(r.at for r in items if pushed_tag(r) == tag)
        latencies.append(arrived - done)
    return latencies


def throughput(stack: Stack, receiver: Receiver, count: int, threads: int) -> float:
    """Deliveries per second: ``count`` pings over 20 webhooks queued in one transaction."""
    stack.start_worker(threads)
    sealed = secret_box.seal(stack.index_env["INDEX_SECRET_KEY"], "bench-secret-long-enough")
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with psycopg2.connect(stack.index_env["INDEX_DATABASE_URL"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM namespaces WHERE name = %s", (USER,))
        (namespace_id,) = cur.fetchone()
        hooks = []
        for _ in range(20):
            cur.execute(
                "INSERT INTO webhooks (namespace_id, url, events, secret_sealed)"
                " VALUES (%s, %s, ARRAY['tag_pushed'], %s) RETURNING id",
                (namespace_id, receiver.url + "/hook", sealed),
            )
            hooks.append(cur.fetchone()[0])
        conn.commit()
        before = len(receiver.received)
        rows = [
            (
                delivery_id,
                hooks[i % len(hooks)],
                json.dumps({"event": "ping", "n": i}),
                secrets.token_urlsafe(32),
            )
            for i, delivery_id in enumerate(ids)
        ]
        cur.executemany(
            "INSERT INTO webhook_deliveries (delivery_id, webhook_id, event, body, callback_token)"
            " VALUES (%s, %s, 'ping', %s, %s)",
            rows,
        )
        cur.execute("SELECT pg_notify('wharf_webhooks', '')")
        conn.commit()
        started = time.monotonic()
    arrived = receiver.wait(lambda got: len(got) - before >= count, timeout=600)
    elapsed = arrived[before + count - 1].at - started
    with psycopg2.connect(stack.index_env["INDEX_DATABASE_URL"]) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM webhooks WHERE id = ANY(%s)", (hooks,))
    return count / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 pushes, 300 deliveries")
    parser.add_argument("--pushes", type=int, default=None)
    parser.add_argument("--deliveries", type=int, default=None)
    args = parser.parse_args(argv)
    pushes = args.pushes or (20 if args.quick else 100)
    deliveries = args.deliveries or (300 if args.quick else 1000)
    if shutil.which("skopeo") is None:
        print("webhook_bench: skopeo not found (apt-get install skopeo)", file=sys.stderr)
        return 2
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    workdir = Path(tempfile.mkdtemp(prefix="wharf-webhook-bench-"))
    receiver = Receiver().start()
    receiver.answer = Answer(204, body=b"")
    stack = Stack(workdir)
    try:
        create_webhook(stack, receiver.url + "/hook")
        stack.start_worker(4)
        latencies = sorted(push_to_webhook(stack, receiver, pushes))
        p50 = statistics.median(latencies)
        p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
        print(
            f"push -> webhook over {pushes} skopeo pushes: p50 {p50 * 1000:.0f} ms,"
            f" p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms (target p95 < 2 s)"
        )
        for threads in (4, 8):
            rate = throughput(stack, receiver, deliveries, threads)
            print(
                f"worker --threads {threads}: {rate:.0f} deliveries/s"
                f" ({deliveries} pings over 20 webhooks, fast receiver)"
            )
    finally:
        stack.close()
        receiver.stop()
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
