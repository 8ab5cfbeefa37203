"""Benchmark the Index's token authority and search (run by hand, not by CI).

    PYTHONPATH=index-service/src:shared-protocol/src:testing/src python bench/index_bench.py

Starts its own PostgreSQL (wharf_testing.postgres.PostgresServer: durability off, as for
tests) and the Index under gunicorn (2 workers x 8 gthread threads, loopback), seeds a user
(real scrypt parameters), an access token, a registry and 100,000 repositories (one
``INSERT ... SELECT generate_series``; 10 % private), then measures with 16 client threads
holding keep-alive connections (http.client), each phase bounded in time:

- ``/healthz`` (no I/O): the yardstick; the token phases print their ratio to it;
- tokens issued per second: Basic with a password (repeated: the credential cache), Basic
  with an access token, anonymous pull of a public repository;
- verifications per second (``POST /internal/v1/tokens/verify`` with the registry's Basic);
- search latency p50/p95: ``/v1/search`` and ``/api/v1/search``, one client (latency) and
  16 clients (under load).

``--only tokens`` skips the 100,000 repositories and search (about 35 s in all);
``--only search`` skips the token phases.

Targets: issuance >= 0.5x and verification >= 0.7x the same run's ``/healthz`` rate,
search p95 < 50 ms at 100,000 repositories.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / d / "src" for d in ("index-service", "shared-protocol", "testing")]
sys.path[:0] = [str(p) for p in SOURCES]

from bench_workload import tree_cpu  # noqa: E402
from wharf_index.adapters import migrations  # noqa: E402
from wharf_index.adapters.db import Database  # noqa: E402
from wharf_index.adapters.unit_of_work import PgUnitOfWork  # noqa: E402
from wharf_index.domain.model import SYSTEM  # noqa: E402
from wharf_index.services import access_tokens, accounts, principals, registries, repositories  # noqa: E402
from wharf_index.services.config import ServiceConfig  # noqa: E402
from wharf_testing.postgres import PostgresServer  # noqa: E402
from wharf_testing.services import GunicornService  # noqa: E402

PASSWORD = "bench password, long enough"
SECRET_KEY = "bench-secret-key-" + uuid.uuid4().hex
REGISTRY = "registry.bench"
WORDS = (
    "nginx redis postgres mysql python node golang alpine debian ubuntu busybox httpd "
    "rabbitmq kafka zookeeper mongo elastic kibana grafana prometheus traefik caddy vault "
    "consul etcd minio memcached haproxy jenkins gitea drone sonar nexus tomcat jetty "
    "wordpress ghost drupal joomla php ruby rust java dotnet perl erlang elixir scala "
    "clojure haskell"
).split()
SEED_SQL = """
INSERT INTO namespaces (name, kind, default_visibility)
SELECT 'team' || i, 'org', 'public' FROM generate_series(1, 200) i;
INSERT INTO repositories (namespace_id, full_name, name, visibility, description)
SELECT n.id, n.name || '/' || w.word || '-' || i, w.word || '-' || i,
       CASE WHEN i %% 10 = 3 THEN 'private' ELSE 'public' END,
       'the ' || w.word || ' image number ' || i || ' for benchmarks'
  FROM generate_series(1, 100000) i
  JOIN namespaces n ON n.name = 'team' || (i %% 200 + 1)
 CROSS JOIN LATERAL (SELECT (%(words)s::text[])[i %% %(n)s + 1] AS word) w;
ANALYZE;
"""


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def seed(url: str, *, bulk: bool = True) -> dict[str, str]:
    """Create alice, her access token, the registry and (``bulk``) 100,000 repositories."""
    migrations.migrate(url)
    # no client-side bound: the bulk insert takes longer than 5 s on a loaded machine
    db = Database(url, minconn=0, maxconn=2, response_timeout=None)
    uow = PgUnitOfWork(db, ServiceConfig())  # production scrypt parameters
    alice = accounts.create_user(uow, "alice", "alice@bench.test", PASSWORD)
    principal = principals.principal_for(uow, alice)
    repositories.create_repository(uow, principal, "alice/app", visibility="public")
    _, pat = access_tokens.create_access_token(
        uow, principal, "bench", [{"repository": "alice/*", "actions": ["pull", "push"]}]
    )
    _, credential = registries.add_registry(
        uow, REGISTRY, "http://127.0.0.1:5000", "private", actor=SYSTEM
    )
    if bulk:
        started = time.perf_counter()
        with db.transaction() as conn, conn.cursor() as cur:
            cur.execute(SEED_SQL, {"words": list(WORDS), "n": len(WORDS)})
        print(f"seeded 100,000 repositories in {time.perf_counter() - started:.1f} s")
    db.close()
    return {"pat": pat, "credential": credential}


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, headers: dict, body: bytes | None = None):
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.read()


SERVER_PIDS: list[int] = []  # gunicorn master + postmaster: their trees are "the server"


def run(port: int, make_request, seconds: float, threads: int) -> dict:
    """Call ``make_request()`` -> (method, path, headers, body) from ``threads`` threads for
    ``seconds``; return rate, error count and latency percentiles."""
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        client, mine, bad = Client(port), [], []
        while time.perf_counter() < deadline:
            method, path, headers, body = make_request()
            start = time.perf_counter()
            status, _ = client.call(method, path, headers, body)
            mine.append(time.perf_counter() - start)
            if status != 200:
                bad.append(status)
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    cpu_before, client_before = tree_cpu(SERVER_PIDS), time.process_time()
    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    server_cpu = tree_cpu(SERVER_PIDS) - cpu_before
    client_cpu = time.process_time() - client_before
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {
        "rate": len(latencies) / elapsed,
        "n": len(latencies),
        "errors": len(errors),
        "statuses": sorted(set(errors)),
        "p50": pick(0.5),
        "p95": pick(0.95),
        "mean": statistics.fmean(latencies) * 1000 if latencies else 0.0,
        "server_ms": server_cpu / max(1, len(latencies)) * 1000,
        "client_ms": client_cpu / max(1, len(latencies)) * 1000,
    }


def token_request(authorization: str | None, scope: str):
    query = urlencode({"service": REGISTRY, "scope": scope})
    headers = {"Authorization": authorization} if authorization else {}
    return lambda: ("GET", f"/v2/token?{query}", headers, None)


def issue_tokens(port: int, count: int) -> list[str]:
    client = Client(port)
    method, path, headers, _ = token_request(None, "repository:alice/app:pull")()
    return [json.loads(client.call(method, path, headers)[1])["token"] for _ in range(count)]


def search_request(path: str, authorization: str):
    def make():
        word = random.choice(WORDS)
        q = word if random.random() < 0.5 else f"{word}-{random.randint(1, 999)}"
        return "GET", f"{path}?{urlencode({'q': q})}", {"Authorization": authorization}, None

    return make


def report(name: str, result: dict, healthz: dict | None = None) -> None:
    ratio = f"  {result['rate'] / healthz['rate']:4.2f}x healthz" if healthz else ""
    print(
        f"{name:38s} {result['rate']:6.0f}/s{ratio}  p50 {result['p50']:6.1f} ms  "
        f"p95 {result['p95']:6.1f} ms  n={result['n']:5d}  errors={result['errors']}"
        + (f" {result['statuses']}" if result["statuses"] else "")
        + f"  | CPU/req: server {result['server_ms']:.2f} ms, client "
        f"{result['client_ms']:.2f} ms"
    )


def measure(port: int, name: str, make, args, healthz: dict | None = None) -> dict:
    """Warm up for a second, then run ``make`` for ``args.seconds``; print and return it."""
    run(port, make, 1.0, args.threads)  # warm-up: caches, pools, connections
    result = run(port, make, args.seconds, args.threads)
    report(name, result, healthz)
    return result


def measure_tokens(port: int, secrets: dict, password: str, pat: str, healthz: dict, args):
    """The three issuance phases and verification, each also as a ratio to ``healthz``."""
    scope = "repository:alice/app:pull,push"
    phases = [
        ("tokens: Basic password (repeated)", token_request(password, scope)),
        ("tokens: Basic access token", token_request(pat, scope)),
        ("tokens: anonymous, public pull", token_request(None, "repository:alice/app:pull")),
    ]
    for name, make in phases:
        measure(port, name, make, args, healthz)
    tokens = issue_tokens(port, 500)
    registry_auth = {
        "Authorization": basic(REGISTRY, secrets["credential"]),
        "Content-Type": "application/json",
    }

    def verify():
        body = json.dumps({"token": random.choice(tokens)}).encode()
        return "POST", "/internal/v1/tokens/verify", registry_auth, body

    measure(port, "verifications", verify, args, healthz)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase")
    parser.add_argument("--threads", type=int, default=16, help="client threads")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-threads", type=int, default=8)
    parser.add_argument(
        "--only",
        choices=("tokens", "search"),
        help="tokens: /healthz, issuance and verification only (no bulk seed, < 1 minute);"
        " search: /healthz and search only",
    )
    args = parser.parse_args()
    postgres = PostgresServer().start()
    service = None
    try:
        url = postgres.create_database("wharf_bench")
        secrets = seed(url, bulk=args.only != "tokens")
        env = {
            "INDEX_DATABASE_URL": url,
            "INDEX_SECRET_KEY": SECRET_KEY,
            "INDEX_LOG_LEVEL": "WARNING",
            "INDEX_LOG_FORMAT": "text",
            "INDEX_DB_POOL_MAX": str(args.worker_threads + 2),
            "PYTHONPATH": os.pathsep.join(str(p) for p in SOURCES),
        }
        service = GunicornService(
            "wharf_index.wsgi:app",
            env,
            "index-bench",
            workers=args.workers,
            threads=args.worker_threads,
        ).start()
        port, seconds, threads = service.port, args.seconds, args.threads
        SERVER_PIDS[:] = [service.pid, postgres.pid]
        password, pat = basic("alice", PASSWORD), basic("alice", secrets["pat"])
        print(
            f"Index: {args.workers} workers x {args.worker_threads} threads; "
            f"{threads} client threads; {seconds:.0f} s per phase; "
            f"load average at the start: {os.getloadavg()[0]:.1f}"
        )
        healthz = measure(port, "/healthz", (lambda: ("GET", "/healthz", {}, None)), args)
        if args.only != "search":
            measure_tokens(port, secrets, password, pat, healthz, args)
        if args.only != "tokens":
            for path in ("/v1/search", "/api/v1/search"):
                make = search_request(path, password)
                run(port, make, 1.0, 2)
                report(f"search {path} (1 client)", run(port, make, seconds, 1))
                report(f"search {path} ({threads} clients)", run(port, make, seconds, threads))
        print(
            f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
            "(other processes share the machine: see the CPU/req columns)"
        )
    finally:
        if service is not None:
            service.stop()
        postgres.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
