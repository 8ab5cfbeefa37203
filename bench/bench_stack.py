"""The Wharf stack the token benchmarks start: PostgreSQL, the Index under gunicorn (seeded
with the ``wharf-index`` CLI) and Wharf registries under gunicorn; plus the docker-like
token flow (401 challenge, then the Index's ``/v2/token``).

Shared by ``token_bench.py``, ``side_by_side.py`` and ``webhook_bench.py``. Importing it puts
the repository's ``src`` directories on ``sys.path``. Every service is stopped by pid in
:meth:`IndexStack.close`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [
    ROOT / d / "src" for d in ("registry-service", "index-service", "shared-protocol", "testing")
]
sys.path[:0] = [str(p) for p in SOURCES if str(p) not in sys.path]

from bench_http import Connection  # noqa: E402
from bench_servers import WHARF_GUNICORN_ARGS, WHARF_SETTINGS, disk_storage  # noqa: E402
from wharf_testing.postgres import PostgresServer  # noqa: E402
from wharf_testing.services import GunicornService  # noqa: E402

USER, PASSWORD = "bench", "bench password, long enough"
PYTHONPATH = os.pathsep.join(str(p) for p in SOURCES)
_CLI = "import sys; from wharf_index.cli import main; sys.exit(main())"


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


class IndexStack:
    """PostgreSQL and the Index (gunicorn, 2 workers x 8 threads, ``wharf_index.gunicorn_conf``)
    with the user ``USER``, and further ``INDEX_*`` settings as keyword arguments; registries
    started through :meth:`registry` stop with it."""

    def __init__(
        self, database: str = "wharf_bench", log_format: str = "text", **index_env: str
    ) -> None:
        self.services: list[GunicornService] = []
        self.postgres = PostgresServer().start()
        try:
            self.index_env = {
                "INDEX_DATABASE_URL": self.postgres.create_database(database),
                "INDEX_SECRET_KEY": secrets.token_urlsafe(32),
                "INDEX_LOG_LEVEL": "WARNING",
                "INDEX_LOG_FORMAT": log_format,
                "PYTHONPATH": PYTHONPATH,
                **index_env,
            }
            self.cli("migrate")
            self.cli(
                "user",
                "create",
                USER,
                "--email",
                "bench@bench.test",
                "--password-stdin",
                stdin=PASSWORD + "\n",
            )
            self.index = self.add(
                GunicornService(
                    "wharf_index.wsgi:app",
                    self.index_env,
                    "index-bench",
                    workers=2,
                    threads=8,
                    extra_args=["--config", "python:wharf_index.gunicorn_conf"],
                )
            )
            self.index.env["INDEX_PUBLIC_URL"] = self.index.url
            self.index.start(timeout=60)
        except BaseException:
            self.close()
            raise

    @property
    def issuer(self) -> str:
        return self.index_env.get("INDEX_TOKEN_ISSUER", "wharf-index")

    def add(self, service: GunicornService) -> GunicornService:
        self.services.append(service)
        return service

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run ``wharf-index ARGS`` with the Index's settings; return its stdout."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INDEX_", "REGISTRY_"))}
        result = subprocess.run(
            [sys.executable, "-c", _CLI, *args],
            input=stdin,
            text=True,
            capture_output=True,
            env=env | self.index_env,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"wharf-index {' '.join(args)}: exit {result.returncode}\n"
                f"{result.stdout}{result.stderr}"
            )
        return result.stdout

    def add_registry(self, name: str, url: str) -> str:
        """``wharf-index registry add NAME --url URL --kind sponsor``; return its credential."""
        output = self.cli("registry", "add", name, "--url", url, "--kind", "sponsor")
        return [ln for ln in output.splitlines() if ln.strip()][-1].strip()

    def registry(self, root: Path, mode: str, name: str) -> tuple[GunicornService, str]:
        """A Wharf registry (``wharf_registry.wsgi:app`` with ``wharf-registry serve``'s
        gunicorn settings, 2 workers x 16 threads, access log on) storing under ``root``:
        ``mode`` ``none``, or ``token`` registered at the Index as ``name`` with
        ``REGISTRY_INDEX_URL`` set (remote verification, durable events to the Index), as the
        product runs. Returns the started service and its credential ("" for none)."""
        env = (
            WHARF_SETTINGS | disk_storage(root) | {"REGISTRY_AUTH": mode, "PYTHONPATH": PYTHONPATH}
        )
        service = self.add(
            GunicornService(
                "wharf_registry.wsgi:app",
                env,
                f"registry-{name}",
                workers=2,
                threads=16,
                extra_args=WHARF_GUNICORN_ARGS,
            )
        )
        credential = ""
        if mode == "token":
            credential = self.add_registry(name, service.url)
            service.env |= {
                "REGISTRY_INDEX_URL": self.index.url,
                "REGISTRY_INDEX_NAME": name,
                "REGISTRY_INDEX_CREDENTIAL": credential,
            }
        service.start(timeout=60)
        return service, credential

    def token_certs(self, path: Path) -> Path:
        """Write the Index's ``/.well-known/token-certs.pem`` (a rootcertbundle) to ``path``."""
        conn = Connection("127.0.0.1", self.index.port)
        try:
            response = conn.request("GET", "/.well-known/token-certs.pem")
        finally:
            conn.close()
        if response.status != 200 or b"BEGIN CERTIFICATE" not in response.body:
            raise RuntimeError(f"token-certs.pem: {response.status}")
        path.write_bytes(response.body)
        return path

    def close(self) -> None:
        for service in reversed(self.services):
            service.close()
        self.postgres.stop()


# -- the docker-like token flow ------------------------------------------------------------


def challenge_token(port: int, method: str, path: str, authorization: str | None = None) -> str:
    """Send ``method path`` without credentials, follow the 401's Bearer challenge to the
    token endpoint with ``authorization`` (default: the user's Basic), return the token."""
    conn = Connection("127.0.0.1", port)
    try:
        answer = conn.request(method, path, keep_body=False)
    finally:
        conn.close()
    header = answer.headers.get("www-authenticate", "")
    if answer.status != 401 or not header.startswith("Bearer "):
        raise RuntimeError(f"{method} {path} without a token: {answer.status} {header!r}")
    params = dict(re.findall(r'(\w+)="([^"]*)"', header))
    return index_tokens(params["realm"], params["service"], params["scope"], 1, 1, authorization)[0]


def index_tokens(
    realm: str,
    service: str,
    scope: str,
    count: int,
    threads: int = 8,
    authorization: str | None = None,
) -> list[str]:
    """``count`` tokens from ``realm`` (the Index's /v2/token) for ``scope``, with
    ``authorization`` (default: the user's Basic)."""
    url = urlsplit(realm)
    path = f"{url.path}?{urlencode({'service': service, 'scope': scope})}"
    headers = {"Authorization": authorization or basic(USER, PASSWORD)}
    tokens: list[str] = []
    lock = threading.Lock()
    errors: list[str] = []

    def fetch(n: int) -> None:
        conn = Connection(url.hostname, url.port, headers=headers)
        try:
            for _ in range(n):
                response = conn.request("GET", path)
                if response.status != 200:
                    errors.append(f"token: {response.status} {response.body[:200]!r}")
                    return
                with lock:
                    tokens.append(json.loads(response.body)["token"])
        finally:
            conn.close()

    workers = [
        threading.Thread(target=fetch, args=(count // threads + (i < count % threads),))
        for i in range(min(threads, count))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    if errors or len(tokens) != count:
        raise RuntimeError(errors[0] if errors else f"{len(tokens)} of {count} tokens")
    return tokens
