"""Benchmark the Index's web pages: server time and SQL statements per page at 100,000
repositories (run by hand, never by CI).

    python bench/web_bench.py [--requests 200] [--warmup 20] [--only home|search|...] \
        [--statements]

Starts its own PostgreSQL (wharf_testing.postgres.PostgresServer: durability off, as for
the tests), migrates it and seeds, mostly with ``INSERT ... SELECT generate_series``:

- 2,000 users, 200 organisations and 100,000 repositories spread over them (names and
  descriptions drawn from 50 image words, 10 % private), one manifest (8 layers) tagged
  ``latest`` on every fifth repository, pushed over the last 30 days, and 150,000 stars
  skewed towards a few repositories (random()^3); one registry, recorded as holding
  every repository;
- ``alice/web``: one public repository with 1,000 tags, each on its own manifest of 8
  layers recorded as the registry's events record them (adapters/content.py), and the tag
  page's documents kept in ``image_documents`` (migration 0024: the manifest, the config,
  a referrers list fetched "tomorrow" so that its 300 s lifetime does not run out during
  the run): the tag page reads everything from PostgreSQL. The registry client of the app
  is replaced by one that fails the run if called.

Then it builds the Index's app in this process (``create_app``, the production code, with
an anonymous visitor) and, per page, makes ``--warmup`` untimed requests and
``--requests`` timed ones through Flask's test client, one at a time: the time is from the
WSGI call to the end of the response body (the app's server time: no HTTP parsing, no
network, no gunicorn). Each page's SQL statements are counted on the connection (every
``cursor.execute``: prepared statements count once, as ``EXECUTE``; ``COMMIT``/``ROLLBACK``
counted apart; ``--statements`` lists them by time spent). Prints p50/p95/max in ms and
statements per request, and whether each page meets the target p95 < 50 ms, with the load
average (other work shares the machine). ``--only`` keeps the pages whose name contains
the text (``tag`` matches the repository of 1,000 tags too; ``tag page`` only that page).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / d / "src" for d in ("index-service", "shared-protocol", "testing")]
sys.path[:0] = [str(p) for p in SOURCES]

import psycopg2.extensions  # noqa: E402
from psycopg2.extras import execute_values  # noqa: E402
from wharf_index.adapters import migrations  # noqa: E402
from wharf_index.adapters.db import Database  # noqa: E402
from wharf_index.adapters.unit_of_work import PgUnitOfWork  # noqa: E402
from wharf_index.domain.model import SYSTEM  # noqa: E402
from wharf_index.services import accounts, principals, registries, repositories  # noqa: E402
from wharf_index.services.config import ServiceConfig  # noqa: E402
from wharf_testing.postgres import PostgresServer  # noqa: E402

TARGET_MS = 50.0
TAGS = 1000
LAYERS = 8
WORDS = (
    "nginx redis postgres mysql python node golang alpine debian ubuntu busybox httpd "
    "rabbitmq kafka zookeeper mongo elastic kibana grafana prometheus traefik caddy vault "
    "consul etcd minio memcached haproxy jenkins gitea drone sonar nexus tomcat jetty "
    "wordpress ghost drupal joomla php ruby rust java dotnet perl erlang elixir scala "
    "clojure haskell"
).split()
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"

# %(words)s is the word list, %(n)s its length. Digests: sha256 of a seed text.
SEED_SQL = """
INSERT INTO namespaces (name, kind, default_visibility)
SELECT 'dev' || i, 'user', 'public' FROM generate_series(1, 2000) i;
INSERT INTO users (username, email, namespace_id)
SELECT n.name, n.name || '@bench.test', n.id FROM namespaces n WHERE n.name LIKE 'dev%%';
INSERT INTO namespaces (name, kind, default_visibility)
SELECT 'team' || i, 'org', 'public' FROM generate_series(1, 200) i;
INSERT INTO organisations (namespace_id) SELECT id FROM namespaces WHERE name LIKE 'team%%';
INSERT INTO repositories (namespace_id, full_name, name, visibility, description,
                          created_at, updated_at, push_count, pull_count)
SELECT n.id, n.name || '/' || w.word || '-' || i, w.word || '-' || i,
       CASE WHEN i %% 10 = 3 THEN 'private' ELSE 'public' END,
       'The ' || w.word || ' image for ' || w.other || ' services, build ' || i
         || ': small, rootless, rebuilt weekly from upstream sources.',
       now() - interval '400 days' + i * interval '5 minutes', now(),
       i %% 37, (i * 7919) %% 100000
  FROM generate_series(1, 100000) i
  JOIN namespaces n ON n.name = 'team' || (i %% 200 + 1)
 CROSS JOIN LATERAL (SELECT (%(words)s::text[])[i %% %(n)s + 1] AS word,
                            (%(words)s::text[])[(i / %(n)s) %% %(n)s + 1] AS other) w;
INSERT INTO manifests (repository_id, digest, media_type, size, config_digest, layers,
                       pushed_by, pushed_at)
SELECT r.id, 'sha256:' || encode(sha256(('manifest ' || r.id)::bytea), 'hex'),
       'application/vnd.oci.image.manifest.v1+json', 1600,
       'sha256:' || encode(sha256(('config ' || r.id)::bytea), 'hex'),
       (SELECT jsonb_agg(jsonb_build_object(
                 'digest', 'sha256:' || encode(sha256(('layer ' || r.id || '/' || l)::bytea),
                                               'hex'),
                 'size', 1000000 + l * 7777 + r.id, 'mediaType', %(layer_type)s)
                 ORDER BY l)
          FROM generate_series(1, 8) l),
       'bench', now() - (r.id %% 43200) * interval '1 minute'
  FROM repositories r WHERE r.id %% 5 = 0;
INSERT INTO tags (repository_id, name, manifest_id, pushed_by, pushed_at)
SELECT repository_id, 'latest', id, pushed_by, pushed_at FROM manifests;
INSERT INTO stars (user_id, repository_id)
SELECT DISTINCT 1 + floor(random() * 2000)::bigint, 1 + floor(100000 * random() ^ 3)::bigint
  FROM generate_series(1, 150000)
ON CONFLICT DO NOTHING;
"""


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def seed(url: str) -> str:
    """Seed the database (module doc); return the 1,000-tag repository's name."""
    migrations.migrate(url)
    db = Database(url, minconn=0, maxconn=2, response_timeout=None)
    uow = PgUnitOfWork(db, ServiceConfig())
    alice = accounts.create_user(uow, "alice", "alice@bench.test", "bench password, long enough")
    principal = principals.principal_for(uow, alice)
    name = "alice/web"
    repository = repositories.create_repository(
        uow, principal, name, visibility="public", description="The web front end."
    )
    registries.add_registry(uow, "registry.bench", "http://127.0.0.1:9", "private", actor=SYSTEM)
    started = time.perf_counter()
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute(SEED_SQL, {"words": WORDS, "n": len(WORDS), "layer_type": LAYER_TYPE})
        _seed_tags(cur, repository.id)
        # the registry holds what was pushed (as its push events record it)
        cur.execute("UPDATE manifests SET registry_id = (SELECT id FROM registries)")
        cur.execute(
            "INSERT INTO repository_registries (repository_id, registry_id)"
            " SELECT DISTINCT repository_id, registry_id FROM manifests"
        )
    with db.autocommit() as conn, conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    print(f"seeded in {time.perf_counter() - started:.1f} s")
    db.close()
    return name


def _seed_tags(cur, repository_id: int) -> None:
    """1,000 tags of ``repository_id``, each on its manifest, with the kept documents."""
    manifests, documents = [], []
    for n in range(TAGS):
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "created": "2026-11-01T12:00:00Z",
                "config": {
                    "Entrypoint": ["/docker-entrypoint.sh"],
                    "Cmd": ["nginx", "-g", "daemon off;"],
                    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", f"N={n}"],
                    "Labels": {"org.opencontainers.image.version": f"1.{n}.0"},
                    "ExposedPorts": {"80/tcp": {}},
                    "WorkingDir": "/srv",
                },
                "rootfs": {
                    "type": "layers",
                    "diff_ids": [digest(f"diff {n}/{i}") for i in range(8)],
                },
            }
        ).encode()
        layers = [
            {"mediaType": LAYER_TYPE, "digest": digest(f"web {n}/{i}"), "size": 3_000_000 + i * n}
            for i in range(LAYERS)
        ]
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_TYPE,
                "config": {
                    "mediaType": CONFIG_TYPE,
                    "digest": digest(config.decode()),
                    "size": len(config),
                },
                "layers": layers,
            }
        ).encode()
        manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
        # the manifest names its config by the config's real digest
        manifest = manifest.replace(digest(config.decode()).encode(), config_digest.encode())
        manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        recorded = [
            {"digest": x["digest"], "size": x["size"], "mediaType": x["mediaType"]} for x in layers
        ]
        manifests.append(
            (
                repository_id,
                manifest_digest,
                MANIFEST_TYPE,
                len(manifest),
                config_digest,
                json.dumps(recorded),
                "alice",
                TAGS - n,
            )
        )
        documents += [
            (repository_id, "manifest", manifest_digest, MANIFEST_TYPE, manifest, "0"),
            (repository_id, "config", config_digest, "", config, "0"),
            (
                repository_id,
                "referrers",
                manifest_digest,
                "application/vnd.oci.image.index.v1+json",
                b"[]",
                "1 day",
            ),
        ]
    execute_values(
        cur,
        "INSERT INTO manifests (repository_id, digest, media_type, size, config_digest, layers,"
        " pushed_by, pushed_at) SELECT v.r, v.d, v.m, v.s, v.c, v.l::jsonb, v.b,"
        " now() - v.age * interval '1 hour' FROM (VALUES %s) v(r, d, m, s, c, l, b, age)",
        manifests,
    )
    cur.execute(
        "INSERT INTO tags (repository_id, name, manifest_id, pushed_by, pushed_at)"
        " SELECT repository_id, 'v1.' || row_number() OVER (ORDER BY pushed_at) - 1 || '.0',"
        " id, pushed_by, pushed_at FROM manifests WHERE repository_id = %s",
        (repository_id,),
    )
    execute_values(
        cur,
        "INSERT INTO image_documents (repository_id, kind, digest, media_type, body, fetched_at)"
        " SELECT v.r, v.k, v.d, v.m, v.b, now() + v.ahead::interval"
        " FROM (VALUES %s) v(r, k, d, m, b, ahead)",
        [(r, k, d, m, psycopg2.Binary(b), a) for r, k, d, m, b, a in documents],
    )


class Counter:
    """Statements and transaction ends sent on the app's connections."""

    statements = 0
    ends = 0
    by_sql: dict[str, list[float]] = {}  # statement (its ends) -> [count, total ms]


class _CountingCursor(psycopg2.extensions.cursor):
    def execute(self, query, vars=None):  # noqa: A002 - psycopg2's name
        Counter.statements += 1
        started = time.perf_counter()
        try:
            return super().execute(query, vars)
        finally:
            text = " ".join(str(query).split())
            key = text if len(text) <= 130 else f"{text[:60]} ... {text[-60:]}"
            spent = Counter.by_sql.setdefault(key, [0, 0.0])
            spent[0] += 1
            spent[1] += (time.perf_counter() - started) * 1000


def counting(db: Database) -> Database:
    """Make ``db``'s connections count what they send (Counter)."""
    base = db._connection_class

    class CountingConnection(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.cursor_factory = _CountingCursor

        def commit(self):
            Counter.ends += 1
            return super().commit()

        def rollback(self):
            Counter.ends += 1
            return super().rollback()

    db._connection_class = CountingConnection
    return db


class NoRegistry:
    """The app's registry client: the tag page must not need one (its documents are kept)."""

    def __getattr__(self, name):
        raise AssertionError(f"the page called the registry client ({name})")


def build_app(url: str):
    os.environ.update(
        INDEX_DATABASE_URL=url,
        INDEX_SECRET_KEY="web-bench-secret-key-0123456789abcdef",
        INDEX_LOG_LEVEL="WARNING",
        INDEX_LOG_FORMAT="text",
    )
    from wharf_index.app import EXTENSION, create_app
    from wharf_index.settings import Settings

    settings = Settings.from_env()
    db = counting(Database.from_settings(settings, minconn=1, maxconn=4))
    app = create_app(settings, pool=db)
    app.extensions[EXTENSION].agent.http = NoRegistry()
    return app


def pages(repository: str) -> list[tuple[str, str]]:
    namespace = repository.split("/")[0]
    tag = "v1.500.0"
    return [
        ("home", "/"),
        ("search common word", "/search?q=nginx"),
        ("search common, by name", "/search?q=nginx&sort=name"),
        ("search rare word", "/search?q=nginx-4200"),
        ("search rare, by name", "/search?q=nginx-4200&sort=name"),
        (f"repository ({TAGS} tags)", f"/r/{namespace}/{repository.split('/', 1)[1]}"),
        ("tag page", f"/r/{repository}/-/tags/{tag}"),
    ]


def measure(client, path: str, warmup: int, count: int) -> dict:
    for _ in range(warmup):
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}\n{response.get_data(True)[:2000]}")
    times = []
    Counter.statements = Counter.ends = 0
    Counter.by_sql = {}
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path)
        response.get_data()
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[int(len(times) * 0.95) - 1],
        "max": times[-1],
        "statements": Counter.statements / count,
        "ends": Counter.ends / count,
        "bytes": len(response.get_data()),
        "sql": sorted(((k, tuple(v)) for k, v in Counter.by_sql.items()), key=lambda i: -i[1][1]),
        "count": count,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per page")
    parser.add_argument("--only", help="measure only the pages whose name contains this")
    parser.add_argument(
        "--statements", action="store_true", help="also print each page's statements by time"
    )
    args = parser.parse_args()
    random.seed(1)
    postgres = PostgresServer().start()
    try:
        url = postgres.create_database("wharf_web_bench")
        repository = seed(url)
        app = build_app(url)
        client = app.test_client()
        print(
            f"Flask test client in-process, anonymous visitor; {args.warmup} warm-up +"
            f" {args.requests} timed requests per page, one at a time;"
            f" load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        header = (
            "page",
            "path",
            "p50 ms",
            "p95 ms",
            "max ms",
            "SQL/req",
            "txn/req",
            "KiB",
            f"p95 < {TARGET_MS:.0f} ms",
        )
        print("| " + " | ".join(header) + " |")
        print("|" + " --- |" * len(header))
        results = []
        for name, path in pages(repository):
            if args.only and args.only not in name:
                continue
            r = measure(client, path, args.warmup, args.requests)
            verdict = "met" if r["p95"] < TARGET_MS else "NOT"
            print(
                f"| {name} | `{path}` | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} |"
                f" {r['statements']:.1f} | {r['ends']:.1f} | {r['bytes'] / 1024:.0f} | {verdict} |",
                flush=True,
            )
            results.append((name, r))
        for name, r in results if args.statements else ():
            print(f"\n{name}: statements by time spent (mean ms per request)")
            for key, (n, total) in r["sql"]:
                print(f"  {total / r['count']:7.2f} ms  x{n / r['count']:.1f}  {key}")
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        postgres.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
