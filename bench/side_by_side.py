"""Wharf and CNCF Distribution side by side, each with and without token authentication, in
one run on 127.0.0.1 with disk storage (run by hand, never by CI; nothing is asserted).

    python bench/side_by_side.py --quick      # ~2-3 minutes: 32 MiB, 16 x 1 MiB, 1 s, 2 rounds
    python bench/side_by_side.py              # full: 256 MiB, 64 x 1 MiB, 3 s/figure, 3 rounds
    python bench/side_by_side.py --rounds 5

Four registries, each on its own storage directory:

- ``wharf-token``: Wharf's registry (``wharf_registry.wsgi:app`` under gunicorn with
  ``wharf-registry serve``'s settings, 2 workers x 16 threads) with ``REGISTRY_AUTH=token``
  and ``REGISTRY_INDEX_URL``: remote verification and durable events to the Index. The
  Index runs under gunicorn (2 x 8, ``wharf_index.gunicorn_conf``) on PostgreSQL from
  ``wharf_testing.postgres``, seeded with the ``wharf-index`` CLI (``migrate``, ``user
  create``, ``registry add``);
- ``wharf-none``: the same registry with ``REGISTRY_AUTH=none`` (no events);
- ``dist-token``: Distribution (Debian's ``docker-registry``) with ``auth.token``: realm the
  Index's ``/v2/token``, service = the name it is registered under at the Index, issuer
  ``wharf-index``, ``rootcertbundle`` fetched from the Index's
  ``/.well-known/token-certs.pem`` (as the interoperability test does);
- ``dist-none``: Distribution without authentication.

Figures (all: higher is better), each target measured back to back, the order rotating
between rounds, medians over rounds:

- skopeo push and pull of one big layer and of N x 1 MiB layers, MB/s: a real ``skopeo
  copy`` between an OCI layout written once and ``docker://127.0.0.1:PORT/...`` (``--creds``
  for the token registries, so skopeo follows the challenge to the Index itself); each
  push goes to a new repository and skopeo gets an empty blob-info cache each time, so
  every layer is uploaded (no "already exists", no cross-repository mount);
- manifest GET by tag, GET by digest and HEAD by tag at 1 and 16 connections, req/s: the
  client gets one token per round through the 401 challenge and reuses it, like docker;
- the Index: tokens per second (Basic password repeated, Basic access token, anonymous
  pull of a public repository) and verifications per second
  (``POST /internal/v1/tokens/verify``), at 16 connections, each as a ratio to the same
  Index's ``GET /healthz`` rate measured in the same round;
- the push path: one 64 x 1 MiB push to each registry through a logging proxy
  (``bench_proxy.py``; the registry's challenge realm rewritten to a second proxy in front
  of the Index), the round trips skopeo made counted and timed per kind.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench_http import Connection
from bench_proxy import LoggingProxy, Trip
from bench_servers import Reference, base_env
from bench_stack import PASSWORD, USER, IndexStack, basic, challenge_token, index_tokens, loadavg
from bench_workload import OCI_MANIFEST, BlobData, MiB, manifest_for, manifest_rps

WHARF_NAME, DIST_NAME = "wharf", "distribution"  # names at the Index (token service)
TARGETS = ("wharf-token", "wharf-none", "dist-token", "dist-none")
IMAGE, BIG, PUBLIC = f"{USER}/image", f"{USER}/big", f"{USER}/public"
TAG = "bench"
ACCEPT = {"Accept": OCI_MANIFEST}
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


@dataclass(frozen=True)
class Plan:
    big: int
    small_count: int
    seconds: float  # per req/s figure
    rounds: int
    verify_tokens: int = 400
    levels: tuple[int, ...] = (1, 16)
    index_level: int = 16


QUICK = Plan(big=32 * MiB, small_count=16, seconds=1.0, rounds=2)
FULL = Plan(big=256 * MiB, small_count=64, seconds=3.0, rounds=3)


# -- the images: OCI layouts written once --------------------------------------------------


class LayerData(BlobData):
    """A :class:`BlobData` that starts like a gzip stream, so that skopeo, which sniffs a
    layer's first bytes, neither compresses it on push nor changes its digest."""

    def chunks(self):
        for n, chunk in enumerate(super().chunks()):
            yield GZIP_HEADER + chunk[len(GZIP_HEADER) :] if n == 0 else chunk


@dataclass
class Layout:
    """An OCI image layout on disk holding one image tagged ``TAG``."""

    path: Path
    size: int  # bytes of the layers
    digest: str  # the manifest's

    @property
    def ref(self) -> str:
        return f"oci:{self.path}:{TAG}"


def write_layout(path: Path, layers: list[BlobData]) -> Layout:
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    ).encode()
    manifest = manifest_for(config, layers)
    for data in (config, manifest):
        (blobs / hashlib.sha256(data).hexdigest()).write_bytes(data)
    for layer in layers:
        with (blobs / layer.digest.split(":", 1)[1]).open("wb") as fh:
            for chunk in layer.chunks():
                fh.write(chunk)
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    (path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    entry = {
        "mediaType": OCI_MANIFEST,
        "digest": digest,
        "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": TAG},
    }
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return Layout(path, sum(layer.size for layer in layers), digest)


# -- skopeo --------------------------------------------------------------------------------


class Skopeo:
    """``skopeo copy`` with its own HOME, an accept-anything policy and, for every copy, an
    empty blob-info cache (as root skopeo keeps one in /var/lib/containers; naming a
    non-root uid makes it use ``XDG_DATA_HOME`` instead, a fresh directory per copy)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        home = workdir / "skopeo-home"
        (home / "run").mkdir(parents=True, mode=0o700)
        self.policy = home / "policy.json"
        self.policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        self.env = base_env() | {
            "HOME": str(home),
            "XDG_RUNTIME_DIR": str(home / "run"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "REGISTRY_AUTH_FILE": str(home / "auth.json"),
            "_CONTAINERS_ROOTLESS_UID": "1000",
        }
        self.copies = 0

    def copy(self, source: str, destination: str, creds: str | None = None) -> float:
        """Copy; return the seconds it took (the whole ``skopeo`` process)."""
        self.copies += 1
        cache = self.workdir / f"skopeo-cache-{self.copies}"
        argv = ["skopeo", "--policy", str(self.policy), "copy"]
        argv += ["--src-tls-verify=false", "--dest-tls-verify=false"]
        if creds and source.startswith("docker://"):
            argv += ["--src-creds", creds]
        if creds and destination.startswith("docker://"):
            argv += ["--dest-creds", creds]
        start = time.perf_counter()
        result = subprocess.run(
            [*argv, source, destination],
            env=self.env | {"XDG_DATA_HOME": str(cache)},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        elapsed = time.perf_counter() - start
        shutil.rmtree(cache, ignore_errors=True)
        if result.returncode != 0:
            raise RuntimeError(f"skopeo copy {source} {destination}:\n{result.stderr[-2000:]}")
        return elapsed


# -- the four registries and the Index -------------------------------------------------------


@dataclass
class Target:
    name: str
    port: int
    token: bool
    headers: dict[str, str] = field(default_factory=dict)  # this round's Authorization

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


class Stack:
    """The Index, the four registries; :meth:`close` stops everything by pid."""

    def __init__(self, workdir: Path) -> None:
        self.index = IndexStack("wharf_side_by_side", log_format="json")
        self.access_token = ""  # the user's, made by seed_index
        self.references: list[Reference] = []
        try:
            roots = {name: workdir / name for name in TARGETS}
            for root in roots.values():
                root.mkdir()
            wharf_token, self.credential = self.index.registry(
                roots["wharf-token"], "token", WHARF_NAME
            )
            wharf_none, _ = self.index.registry(roots["wharf-none"], "none", "none")
            self.roots = roots
            self.logs = {  # JSON access logs: method, path, status, duration_ms
                "wharf-token": Path(wharf_token.logfile),
                "wharf-none": Path(wharf_none.logfile),
                "index": Path(self.index.index.logfile),
            }
            certs = self.index.token_certs(workdir / "token-certs.pem")
            dist_none = self._reference(roots["dist-none"], None)
            dist_token = self._reference(
                roots["dist-token"],
                {
                    "realm": f"{self.index.index.url}/v2/token",
                    "service": DIST_NAME,
                    "issuer": self.index.issuer,
                    "rootcertbundle": str(certs),
                },
            )
            self.index.add_registry(DIST_NAME, dist_token.url)
            self.targets = {
                "wharf-token": Target("wharf-token", wharf_token.port, True),
                "wharf-none": Target("wharf-none", wharf_none.port, False),
                "dist-token": Target("dist-token", dist_token.port, True),
                "dist-none": Target("dist-none", dist_none.port, False),
            }
        except BaseException:
            self.close()
            raise

    def outbox_left(self) -> int:
        outbox = self.roots["wharf-token"] / "wharf" / "outbox"
        return len(list(outbox.iterdir())) if outbox.is_dir() else 0

    def settle(self, timeout: float = 15.0) -> None:
        """Wait (bounded) until the Wharf token registry's outbox is delivered."""
        deadline = time.monotonic() + timeout
        while self.outbox_left() and time.monotonic() < deadline:
            time.sleep(0.05)

    def _reference(self, root: Path, token: dict[str, str] | None) -> Reference:
        reference = Reference(root, "disk", token=token)
        self.references.append(reference)
        return reference

    def close(self) -> None:
        for reference in self.references:
            reference.stop()
        self.index.close()


# -- measuring -----------------------------------------------------------------------------


def creds(target: Target) -> str | None:
    return f"{USER}:{PASSWORD}" if target.token else None


def round_token(target: Target) -> None:
    """Docker's way: one token from the challenge, reused for this round's requests."""
    if target.token:
        token = challenge_token(target.port, "GET", f"/v2/{IMAGE}/manifests/{TAG}")
        target.headers = {"Authorization": f"Bearer {token}"}


def registry_figures(plan: Plan, layouts: dict[str, Layout], skopeo: Skopeo, workdir: Path):
    """[(figure, work(target, round) -> value)]: the registry figures of one round."""
    big, small = layouts["big"], layouts["small"]
    big_label = f"1 x {big.size // MiB} MiB"
    small_label = f"{plan.small_count} x 1 MiB"

    def push(layout: Layout, repo: str) -> Callable[[Target, int], float]:
        def work(target: Target, n: int) -> float:
            dest = f"docker://{target.address}/{repo}-r{n}:{TAG}"
            return layout.size / 1e6 / skopeo.copy(layout.ref, dest, creds(target))

        return work

    def pull(layout: Layout, repo: str) -> Callable[[Target, int], float]:
        def work(target: Target, n: int) -> float:
            out = workdir / f"pulled-{target.name}-{n}"
            try:
                seconds = skopeo.copy(
                    f"docker://{target.address}/{repo}:{TAG}", f"dir:{out}", creds(target)
                )
            finally:
                shutil.rmtree(out, ignore_errors=True)
            return layout.size / 1e6 / seconds

        return work

    def rps(method: str, ref: str, level: int) -> Callable[[Target, int], float]:
        def work(target: Target, n: int) -> float:
            path = f"/v2/{IMAGE}/manifests/{ref}"
            return manifest_rps(
                target.port, path, method, level, plan.seconds, ACCEPT | target.headers
            )

        return work

    figures = [
        (f"skopeo push {big_label} (MB/s)", push(big, f"{USER}/push-big")),
        (f"skopeo push {small_label} (MB/s)", push(small, f"{USER}/push-small")),
        (f"skopeo pull {big_label} (MB/s)", pull(big, BIG)),
        (f"skopeo pull {small_label} (MB/s)", pull(small, IMAGE)),
    ]
    for label, method, ref in (
        ("manifest GET by tag", "GET", TAG),
        ("manifest GET by digest", "GET", small.digest),
        ("manifest HEAD", "HEAD", TAG),
    ):
        for level in plan.levels:
            figures.append((f"{label} c={level} (req/s)", rps(method, ref, level)))
    return figures


def index_pull_count(stack: Stack) -> int:
    """The Index's pull count of ``IMAGE:TAG`` (what the registry's counted pulls became)."""
    conn = Connection("127.0.0.1", stack.index.index.port, headers={})
    try:
        got = conn.request(
            "GET",
            f"/api/v1/repositories/{IMAGE}/-/tags/{TAG}",
            headers={"Authorization": basic(USER, PASSWORD)},
        )
    finally:
        conn.close()
    if got.status != 200:
        raise RuntimeError(f"tag at the Index: {got.status} {got.body[:200]!r}")
    return json.loads(got.body)["pull_count"]


def pull_counts(stack: Stack, threads: int = 16, each: int = 250) -> tuple[int, int, float]:
    """Send ``threads * each`` manifest GETs by tag to the Wharf token registry (one
    keep-alive connection per thread), then wait (bounded) until the Index counted them.
    Returns (sent and answered 200, counted by the Index, seconds from the last answer until
    the count stopped short or matched): no pull is lost when nothing crashes."""
    target = stack.targets["wharf-token"]
    round_token(target)
    before = index_pull_count(stack)
    answered = [0] * threads

    def client(i: int) -> None:
        conn = Connection("127.0.0.1", target.port, headers=ACCEPT | target.headers)
        try:
            for _ in range(each):
                if conn.request("GET", f"/v2/{IMAGE}/manifests/{TAG}").status == 200:
                    answered[i] += 1
        finally:
            conn.close()

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    sent, done = sum(answered), time.monotonic()
    counted = index_pull_count(stack) - before
    while counted < sent and time.monotonic() - done < 30:
        time.sleep(0.1)
        counted = index_pull_count(stack) - before
    return sent, counted, time.monotonic() - done


def index_figures(plan: Plan, stack: Stack) -> dict[str, float]:
    """One round of the Index's rates (req/s at ``plan.index_level`` connections)."""
    port, level, seconds = stack.index.index.port, plan.index_level, plan.seconds

    def token_path(scope: str) -> str:
        return "/v2/token?" + urlencode({"service": WHARF_NAME, "scope": scope})

    push_scope = f"repository:{IMAGE}:pull,push"
    verify_tokens = index_tokens(
        f"{stack.index.index.url}/v2/token",
        WHARF_NAME,
        f"repository:{IMAGE}:pull",
        plan.verify_tokens,
    )
    bodies = [json.dumps({"token": t}).encode() for t in verify_tokens]
    verify_headers = {
        "Authorization": basic(WHARF_NAME, stack.credential),
        "Content-Type": "application/json",
    }
    cases = [
        ("healthz", "GET", "/healthz", {}, None),
        (
            "tokens: Basic password (repeated)",
            "GET",
            token_path(push_scope),
            {"Authorization": basic(USER, PASSWORD)},
            None,
        ),
        (
            "tokens: Basic access token",
            "GET",
            token_path(push_scope),
            {"Authorization": basic(USER, stack.access_token)},
            None,
        ),
        ("tokens: anonymous public pull", "GET", token_path(f"repository:{PUBLIC}:pull"), {}, None),
        ("verifications", "POST", "/internal/v1/tokens/verify", verify_headers, bodies),
    ]
    rates = {}
    for name, method, path, headers, body in cases:
        # warm-up, untimed: each worker's credential cache, connection pool
        manifest_rps(port, path, method, level, min(0.5, seconds), headers, body)
        rates[name] = manifest_rps(port, path, method, level, seconds, headers, body)
    return rates


def seed_index(stack: Stack) -> None:
    """A public repository (for anonymous tokens) and an access token of the user."""
    conn = Connection(
        "127.0.0.1",
        stack.index.index.port,
        headers={"Authorization": basic(USER, PASSWORD), "Content-Type": "application/json"},
    )
    try:
        made = conn.request(
            "POST",
            "/api/v1/repositories",
            body=json.dumps({"name": PUBLIC, "visibility": "public"}).encode(),
        )
        if made.status != 201:
            raise RuntimeError(f"public repository: {made.status} {made.body[:300]!r}")
        scopes = [{"repository": f"{USER}/*", "actions": ["pull", "push"]}]
        made = conn.request(
            "POST", "/api/v1/tokens", body=json.dumps({"name": "bench", "scopes": scopes}).encode()
        )
        if made.status != 201:
            raise RuntimeError(f"access token: {made.status} {made.body[:300]!r}")
        stack.access_token = json.loads(made.body)["secret"]
    finally:
        conn.close()


# -- the push path through the logging proxy ---------------------------------------------


def classify(trip: Trip, token_server: bool) -> str:
    if token_server:
        kind = "token GET (Index)"
    elif trip.path.rstrip("/") == "/v2":
        kind = f"{trip.method} /v2/ (ping)"
    elif "/blobs/uploads" in trip.path:
        kind = f"{trip.method} upload" + (" (mount)" if "mount=" in trip.path else "")
    elif "/blobs/" in trip.path:
        kind = f"{trip.method} blob"
    elif "/manifests/" in trip.path:
        kind = f"{trip.method} manifest"
    else:
        kind = f"{trip.method} other"
    return kind + (f" -> {trip.status}" if trip.status in (401, 404) else "")


def push_breakdown(stack: Stack, layout: Layout, skopeo: Skopeo) -> dict[str, tuple]:
    """Per target: (wall seconds through the proxies, {kind: [count, seconds]}, wall seconds
    of the same push straight to the registry, just before)."""
    index_url = stack.index.index.url.encode()
    found = {}
    for name in TARGETS:
        target = stack.targets[name]
        index_proxy = LoggingProxy(stack.index.index.port)
        proxy = LoggingProxy(
            target.port, rewrite=(index_url, f"http://127.0.0.1:{index_proxy.port}".encode())
        )
        try:
            direct = skopeo.copy(
                layout.ref, f"docker://{target.address}/{USER}/untraced:{TAG}", creds(target)
            )
            stack.settle()
            offsets = {log: path.stat().st_size for log, path in stack.logs.items()}
            dest = f"docker://127.0.0.1:{proxy.port}/{USER}/trace:{TAG}"
            wall = skopeo.copy(layout.ref, dest, creds(target))
            stack.settle()  # the push's events reach the Index
            time.sleep(0.3)  # let the proxy threads and the access logs catch up
            server = server_side(stack, name, offsets)
            kinds: dict[str, list] = {}
            trips = [(t, False) for t in proxy.take()] + [(t, True) for t in index_proxy.take()]
            for trip, token_server in trips:
                entry = kinds.setdefault(classify(trip, token_server), [0, 0.0])
                entry[0] += 1
                entry[1] += trip.seconds
            found[name] = (wall, kinds, direct, server)
        finally:
            proxy.close()
            index_proxy.close()
    return found


def access_log(path: Path, offset: int) -> list[dict]:
    """The gunicorn access records (JSON lines) written to ``path`` after ``offset``."""
    with path.open("rb") as fh:
        fh.seek(offset)
        lines = fh.read().decode("utf-8", "replace").splitlines()
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("logger") == "gunicorn.access":
            records.append(record)
    return records


def server_side(stack: Stack, name: str, offsets: dict[str, int]) -> dict[str, list]:
    """{kind: [count, seconds]} from the access logs: the Wharf registry's own time per kind
    of request, and every request the Index answered (the registry's calls, the tokens)."""
    kinds: dict[str, list] = {}

    def add(kind: str, record: dict) -> None:
        entry = kinds.setdefault(kind, [0, 0.0])
        entry[0] += 1
        entry[1] += float(record.get("duration_ms") or 0) / 1000

    if name in stack.logs:
        for record in access_log(stack.logs[name], offsets[name]):
            trip = Trip(record["method"], record["path"], int(record["status"]), 0.0, 0)
            add("registry: " + classify(trip, False), record)
    for record in access_log(stack.logs["index"], offsets["index"]):
        add(f"Index: {record['method']} {record['path']}", record)
    return kinds


def print_breakdown(found: dict[str, tuple], label: str) -> None:
    names = list(found)
    kinds = sorted({k for entry in found.values() for k in entry[1]})
    first = f"{'round trips of one push':<26}" + "".join(f"{n:>20}" for n in names)
    header = f"{label:<26}" + f"{'n':>6}{'sum s':>7}{'ms':>7}" * len(names)
    print("\n" + first + "\n" + header + "\n" + "-" * len(header))
    for kind in kinds:
        line = f"{kind:<26}"
        for name in names:
            count, seconds = found[name][1].get(kind, [0, 0.0])
            mean = f"{seconds / count * 1000:.1f}" if count else "-"
            line += f"{count:>6}{seconds:>7.2f}{mean:>7}"
        print(line)
    line = f"{'all round trips':<26}"
    for name in names:
        count = sum(v[0] for v in found[name][1].values())
        line += f"{count:>6}{sum(v[1] for v in found[name][1].values()):>7.2f}{'':>7}"
    print(line)
    for title, i in (("skopeo wall time (s)", 0), ("  without the proxy (s)", 2)):
        print(f"{title:<26}" + "".join(f"{found[n][i]:>13.2f}{'':>7}" for n in names))
    print(
        "n: round trips of that kind; sum s: their seconds added up (request head in to "
        "last response byte out, at a logging proxy, ~0.1 ms hop); ms: the mean. skopeo may "
        "send several layers at once, so sum s can exceed the wall time."
    )
    kinds = sorted({k for entry in found.values() for k in entry[3]})
    if not kinds:
        return
    width = max(26, *(len(k) + 2 for k in kinds))
    first = f"{'server side (access logs)':<{width}}" + "".join(f"{n:>20}" for n in names)
    header = f"{'':<{width}}" + f"{'n':>6}{'sum s':>7}{'ms':>7}" * len(names)
    print("\n" + first + "\n" + header + "\n" + "-" * len(header))
    for kind in kinds:
        line = f"{kind:<{width}}"
        for name in names:
            count, seconds = found[name][3].get(kind, [0, 0.0])
            mean = f"{seconds / count * 1000:.1f}" if count else "-"
            line += f"{count:>6}{seconds:>7.2f}{mean:>7}"
        print(line)
    print(
        "The same pushes as seen by the servers that log durations (gunicorn's access log: "
        "the Wharf registries and the Index; Distribution logs none): registry lines are "
        "the time each request spent in the registry, Index lines every request the Index "
        "answered meanwhile (skopeo's token, the registry's verifications and event deliveries)."
    )


# -- the tables ----------------------------------------------------------------------------


def mark(ratio: float, target: float) -> str:
    return f"{ratio:>6.2f}x {'met' if ratio >= target else 'NOT':<4}"


def print_registry_table(results: dict[tuple[str, str], list[float]], figures: list[str]) -> None:
    width = max(len(f) for f in figures) + 2
    header = (
        f"{'figure (median)':<{width}}"
        + "".join(f"{t:>13}" for t in TARGETS)
        + f"{'wT/dT (>=1.0)':>16}{'wT/wN (>=0.9)':>16}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for figure in figures:
        values = {t: statistics.median(results[(figure, t)]) for t in TARGETS}
        line = f"{figure:<{width}}" + "".join(f"{values[t]:>13.1f}" for t in TARGETS)
        line += f"{'':>4}{mark(values['wharf-token'] / values['dist-token'], 1.0)}"
        line += f"{'':>4}{mark(values['wharf-token'] / values['wharf-none'], 0.9)}"
        print(line)
    print(
        "wT/dT: wharf-token / dist-token (target >= 1.0x); wT/wN: wharf-token / wharf-none "
        "(target >= 0.9x); all figures higher is better."
    )


def print_index_table(rates: list[dict[str, float]]) -> None:
    header = f"{'Index figure (median)':<36}{'req/s':>10}{'/ healthz':>11}{'target':>9}"
    print("\n" + header + "\n" + "-" * len(header))
    for name in rates[0]:
        value = statistics.median(r[name] for r in rates)
        ratio = statistics.median(r[name] / r["healthz"] for r in rates)
        goal = None if name == "healthz" else 0.7 if name == "verifications" else 0.5
        line = f"{name:<36}{value:>10.1f}"
        if goal is not None:
            line += f"{ratio:>10.2f}x{f'>={goal}x':>9} {'met' if ratio >= goal else 'NOT'}"
        print(line)
    print("/ healthz: the median of the per-round ratios to the same Index's GET /healthz rate.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 s per figure")
    parser.add_argument("--rounds", type=int, help="rounds (the targets' order rotates)")
    parser.add_argument("--seconds", type=float, help="seconds per req/s figure")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.rounds or args.seconds:
        plan = Plan(
            plan.big, plan.small_count, args.seconds or plan.seconds, args.rounds or plan.rounds
        )
    if not Reference.available() or not shutil.which("skopeo"):
        print("needs skopeo and docker-registry (apt-get install skopeo docker-registry)")
        return 2
    print(f"plan: {plan}\nload average at start: {loadavg()} ({os.cpu_count()} CPUs)", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="wharf-side-by-side-"))
    started = time.perf_counter()
    layouts = {
        "big": write_layout(workdir / "layout-big", [LayerData(7, plan.big)]),
        "small": write_layout(
            workdir / "layout-small", [LayerData(9000 + i, MiB) for i in range(plan.small_count)]
        ),
    }
    layouts["trace"] = layouts["small"]  # the push path is always traced with 64 x 1 MiB
    if plan.small_count != 64:
        layers = [LayerData(20000 + i, MiB) for i in range(64)]
        layouts["trace"] = write_layout(workdir / "layout-trace", layers)
    skopeo = Skopeo(workdir)
    results: dict[tuple[str, str], list[float]] = {}
    index_rates: list[dict[str, float]] = []
    stack = None
    ok = False
    try:
        stack = Stack(workdir)
        seed_index(stack)
        for target in stack.targets.values():  # the images pulled and fetched (untimed)
            skopeo.copy(layouts["big"].ref, f"docker://{target.address}/{BIG}:{TAG}", creds(target))
            skopeo.copy(
                layouts["small"].ref, f"docker://{target.address}/{IMAGE}:{TAG}", creds(target)
            )
            round_token(target)
            conn = Connection("127.0.0.1", target.port, headers=ACCEPT | target.headers)
            try:
                got = conn.request("GET", f"/v2/{IMAGE}/manifests/{TAG}")
            finally:
                conn.close()
            digest = got.headers.get("docker-content-digest")
            if got.status != 200 or digest != layouts["small"].digest:
                raise RuntimeError(f"{target.name}: manifest {got.status} {digest}")
        print(f"stack up, images pushed in {time.perf_counter() - started:.1f} s", flush=True)
        figures = registry_figures(plan, layouts, skopeo, workdir)
        for n in range(plan.rounds):
            order = TARGETS[n % len(TARGETS) :] + TARGETS[: n % len(TARGETS)]
            print(f"== round {n + 1} of {plan.rounds} (order: {', '.join(order)})", flush=True)
            for target in stack.targets.values():
                round_token(target)
            for figure, work in figures:
                values = []
                for name in order:
                    value = work(stack.targets[name], n)
                    results.setdefault((figure, name), []).append(value)
                    values.append(f"{name} {value:.1f}")
                print(f"   {figure:<36} " + ", ".join(values), flush=True)
            index_rates.append(index_figures(plan, stack))
            print(
                "   Index: " + ", ".join(f"{k} {v:.0f}/s" for k, v in index_rates[-1].items()),
                flush=True,
            )
        sent, counted, waited = pull_counts(stack)
        print(
            f"== pull counts: {sent} manifest GETs by tag answered 200 by wharf-token,"
            f" {counted} counted at the Index {waited:.1f} s after the last"
            f" ({'none lost' if counted == sent else f'{sent - counted} missing'})",
            flush=True,
        )
        print("== push path (through a logging proxy)", flush=True)
        breakdown = push_breakdown(stack, layouts["trace"], skopeo)
        ok = True
    finally:
        if stack is not None:
            if not ok:
                for service in stack.index.services:
                    print(f"--- {service.name} log (tail):\n{service.log()[-2000:]}")
                for reference in stack.references:
                    tail = reference.log_path.read_text()[-2000:]
                    print(f"--- {reference.name} log (tail):\n{tail}")
            stack.close()
        shutil.rmtree(workdir, ignore_errors=True)
    print_registry_table(results, [f for f, _ in figures])
    print_index_table(index_rates)
    print_breakdown(breakdown, f"push {layouts['trace'].size // MiB} x 1 MiB")
    print(f"\nload average at end: {loadavg()}; {time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
