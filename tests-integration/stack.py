"""The Wharf stack as real processes: PostgreSQL, the Index and Registries under gunicorn.

Each service runs on its own host (:mod:`wharf_testing.hosts`: a network namespace inside
the sandbox, or 127.0.0.1 with a free port). :class:`Stack` prepares one Index database
(migrated through the CLI, users created through the CLI), starts the Index, registers and
starts registries, and offers the helpers the scenario and fault tests share: clients
(:class:`~oci_client.OciClient`, :class:`~skopeo.Skopeo`, the Index API over requests),
bounded polling, and stop/kill/restart of every process.

``Stack(..., tls=True)`` runs every service over HTTPS with certificates of a private test
CA (:mod:`wharf_testing.tls`): the Index trusts it for registry URLs, each registry for its
Index calls, and the clients (skopeo's ``--cert-dir``, :meth:`Stack.api`) verify against
it. With ``client_certs=True`` both services also require a client certificate signed by
that CA, and every client (registries calling the Index included) presents one.

Two stacks may run at once (two Indexes, each with its own database and registries):
``Stack(..., index_port=INDEX_PORT + 1)`` puts the second Index beside the first on the
index host, and their registries go on different hosts (a stack numbers its registries'
ports from :data:`REGISTRY_PORT` on its own).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import requests
from oci_client import Image, OciClient
from skopeo import Skopeo
from wharf_testing import processes
from wharf_testing.hosts import Host, Network
from wharf_testing.processes import LoggedProcess, base_env
from wharf_testing.services import GunicornService
from wharf_testing.tls import TestTLS, make_tls

ADMIN = "sysop"  # "admin" is a reserved name at the Index
INDEX_PORT = 5001
REGISTRY_PORT = 5000
CLOCKSHIFT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clockshift.py")
PASSWORDS = {
    "sysop": "sysop-password-1",
    "alice": "alice-password-1",
    "bob": "bob-password-1",
    "carol": "carol-password-1",
}
_CLI = "import sys; from wharf_index.cli import main; sys.exit(main())"


@dataclass
class Registry:
    """A registry known to the Index: its service, host, credential and namespaces."""

    name: str
    host: Host
    service: GunicornService
    credential: str
    namespaces: tuple[str, ...]

    @property
    def url(self) -> str:
        return self.service.url

    @property
    def address(self) -> str:
        """``host:port``, as skopeo and docker want it."""
        return f"{self.service.host}:{self.service.port}"


class Stack:
    """One Index (fresh database) and its registries; :meth:`close` stops everything."""

    def __init__(
        self,
        network: Network,
        postgres,
        *,
        index_env: Mapping[str, str] = (),
        tls: bool = False,
        client_certs: bool = False,
        index_port: int = INDEX_PORT,
    ) -> None:
        self.network, self.postgres = network, postgres
        self.workdir = tempfile.mkdtemp(prefix="wharf-it-")
        self.tls: TestTLS | None = None
        if tls or client_certs:
            sans = [network[h].address for h in ("index", "registry", "registry2")]
            sans = list(dict.fromkeys([*sans, "127.0.0.1", "localhost"]))
            self.tls = make_tls(os.path.join(self.workdir, "tls"), sans)
            if client_certs:
                self.tls = self.tls.requiring_client_cert()
        self.scheme = "https" if self.tls else "http"
        self.registries: dict[str, Registry] = {}
        self.extra_services: list[GunicornService | Worker] = []
        self.database = f"wharf_it_{uuid.uuid4().hex[:12]}"
        self.database_url = postgres.create_database(self.database)
        index = network["index"]
        self.index_host = index
        self.index_env = {
            "INDEX_DATABASE_URL": self.database_url,
            "INDEX_SECRET_KEY": secrets.token_urlsafe(32),
            "INDEX_PASSWORD_SCRYPT_N": "1024",
            "INDEX_LOG_FORMAT": "text",
            "INDEX_DB_CONNECT_TIMEOUT": "3",
            **(self.tls.env("INDEX_HTTP_TLS") if self.tls else {}),
            **({"INDEX_REGISTRY_TLS_CA": self.tls.ca} if self.tls else {}),
            **dict(index_env),
        }
        port = index.port(index_port)
        self.index_env["INDEX_PUBLIC_URL"] = f"{self.scheme}://{index.address}:{port}"
        self.index = GunicornService(
            "wharf_index.wsgi:app",
            self.index_env,
            "index",
            host=index.address,
            port=port,
            prefix=index.prefix,
            workers=1,
            threads=8,
            worker_class=None,
            extra_args=["--config", "python:wharf_index.gunicorn_conf"],
            tls=self.tls,
        )

    # -- setup -----------------------------------------------------------------------------

    def bootstrap(self, users: Sequence[str] = ("sysop", "alice", "bob")) -> Stack:
        """Migrate, create ``users`` (:data:`ADMIN` an administrator), start the Index."""
        self.cli("migrate")
        for name in users:
            self.create_user(name, admin=(name == ADMIN))
        self.index.start(timeout=60)
        return self

    def cli(
        self, *args: str, stdin: str | None = None, check: bool = True, env: Mapping[str, str] = ()
    ) -> subprocess.CompletedProcess:
        """Run ``wharf-index ARGS`` on the Index host with the Index's environment."""
        result = self.index_host.run(
            [sys.executable, "-c", _CLI, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=base_env() | self.index_env | dict(env),
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"wharf-index {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def create_user(self, name: str, *, admin: bool = False) -> None:
        args = ["user", "create", name, "--email", f"{name}@example.org", "--password-stdin"]
        self.cli(*args, *(["--admin"] if admin else []), stdin=PASSWORDS[name] + "\n")

    def add_registry(
        self,
        name: str,
        host: str,
        namespaces: Sequence[str],
        *,
        auth: str = "token",
        env: Mapping[str, str] = (),
        clock_offset: float = 0,
        start: bool = True,
        kind: str = "sponsor",
        upstream: str | None = None,
    ) -> Registry:
        """Register ``name`` at the Index (CLI) as a registry of ``kind`` (the sponsor's
        rules are the Index's plain roles and visibility; ``upstream``: the registry a
        ``mirror`` mirrors), then start it on ``host`` in token mode."""
        registry_host = self.network[host]
        port = registry_host.port(REGISTRY_PORT + len(self.registries))
        url = f"{self.scheme}://{registry_host.address}:{port}"
        args = ["registry", "add", name, "--url", url, "--kind", kind]
        for namespace in namespaces:
            args += ["--namespace", namespace]
        if upstream is not None:
            args += ["--upstream", upstream]
        output = self.cli(*args).stdout
        credential = [line for line in output.splitlines() if line.strip()][-1].strip()
        registry_env = {
            "REGISTRY_AUTH": auth,
            "REGISTRY_INDEX_URL": self.index.url,
            "REGISTRY_INDEX_NAME": name,
            "REGISTRY_INDEX_CREDENTIAL": credential,
            "REGISTRY_AUTH_TOKEN_REALM": f"{self.index.url}/v2/token",
            **self._registry_tls_env(),
            **dict(env),
        }
        service = self.registry_service(name, registry_host, port, registry_env, clock_offset)
        registry = Registry(name, registry_host, service, credential, tuple(namespaces))
        self.registries[name] = registry
        if start:
            service.start(timeout=60)
        return registry

    def start_worker(self, *args: str) -> Worker:
        """Start ``wharf-index worker ARGS`` (webhook delivery) on the Index host with the
        Index's settings; it is stopped with the stack."""
        argv = [*self.index_host.prefix, sys.executable, "-c", _CLI, "worker", *args]
        worker = Worker(argv, self.index_env, os.path.join(self.workdir, "worker"))
        self.extra_services.append(worker)
        return worker.start()

    def registry_service(
        self, name: str, host: Host, port: int, env: Mapping[str, str], clock_offset: float = 0
    ) -> GunicornService:
        """A registry process (not started) on ``host:port`` with filesystem storage, its
        clock ``clock_offset`` seconds off."""
        root = os.path.join(self.workdir, f"storage-{name}")
        os.makedirs(root, exist_ok=True)
        full = {
            "REGISTRY_STORAGE": "filesystem",
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": root,
            "REGISTRY_LOG_FORMAT": "text",
            **dict(env),
        }
        prefix = clock_prefix(host, clock_offset) if clock_offset else host.prefix
        return GunicornService(
            "wharf_registry.wsgi:app",
            full,
            f"registry {name}",
            host=host.address,
            port=port,
            prefix=prefix,
            workers=1,
            threads=8,
            worker_class=None,
            extra_args=["--config", "python:wharf_registry.gunicorn_conf"],
            tls=self.tls,
        )

    def _registry_tls_env(self) -> dict[str, str]:
        """HTTPS for a registry, and trust (with a client certificate) for its Index calls."""
        if self.tls is None:
            return {}
        env = {**self.tls.env("REGISTRY_HTTP_TLS"), "REGISTRY_INDEX_TLS_CA": self.tls.ca}
        if self.tls.require_client_cert:
            env["REGISTRY_INDEX_TLS_CERTIFICATE"] = self.tls.client.certificate
            env["REGISTRY_INDEX_TLS_KEY"] = self.tls.client.key
        return env

    def storage_root(self, name: str) -> str:
        return os.path.join(self.workdir, f"storage-{name}")

    # -- clients ---------------------------------------------------------------------------

    def client(self, registry: str = "reg1", user: str | None = None, **kw) -> OciClient:
        """An :class:`OciClient` for ``registry`` as ``user`` (None: anonymous)."""
        password = PASSWORDS[user] if user else None
        return OciClient(self.registries[registry].url, user, password, **kw)

    def skopeo(self, label: str = "skopeo") -> Skopeo:
        """A skopeo on the client host with a fresh, empty auth file."""
        workdir = tempfile.mkdtemp(prefix=f"{label}-", dir=self.workdir)
        cert_dir = self.tls.cert_dir(os.path.join(workdir, "certs")) if self.tls else None
        return Skopeo(self.network["client"], workdir, cert_dir=cert_dir)

    def login(self, user: str, registry: str = "reg1") -> Skopeo:
        """A skopeo logged in to ``registry`` as ``user``."""
        client = self.skopeo(user)
        client.login(self.registries[registry].address, user, PASSWORDS[user])
        return client

    def api(
        self,
        method: str,
        path: str,
        user: str | None = None,
        *,
        timeout: tuple[float, float] = (3.05, 30),
        **kw,
    ) -> requests.Response:
        """A request to the Index (``path`` below its URL), Basic auth as ``user``."""
        auth = (user, PASSWORDS[user]) if user else None
        tls = self.tls.requests_kwargs() if self.tls else {}
        return requests.request(
            method, self.index.url + path, auth=auth, timeout=timeout, **{**tls, **kw}
        )

    def token(self, registry: str, scope: str, user: str | None = None) -> requests.Response:
        """``GET /v2/token?service=registry&scope=scope`` at the Index."""
        return self.api("GET", "/v2/token", user, params={"service": registry, "scope": scope})

    def tags_at_index(self, repository: str, user: str) -> dict[str, dict]:
        """The Index's tags of ``repository`` as ``user`` ({} when it is unknown)."""
        response = self.api("GET", f"/api/v1/repositories/{repository}/-/tags", user)
        if response.status_code == 404:
            return {}
        assert response.status_code == 200, (response.status_code, response.text)
        return {item["name"]: item for item in response.json()["items"]}

    # -- processes -------------------------------------------------------------------------

    def services(self) -> list[GunicornService]:
        return [self.index, *(r.service for r in self.registries.values()), *self.extra_services]

    def close(self) -> None:
        for service in reversed(self.services()):
            service.close()
        with contextlib.suppress(Exception):  # the server may be down after a fault test
            self.postgres.drop_database(self.database)
        shutil.rmtree(self.workdir, ignore_errors=True)


class Worker(LoggedProcess):
    """A long-running ``wharf-index`` command (not an HTTP service): started when its log
    says so, stopped with SIGTERM (then SIGKILL), or killed outright for fault tests."""

    name = "webhook worker"
    started_line = "webhook worker started"
    stop_grace = 15.0  # an attempt in flight may take INDEX_WEBHOOK_TIMEOUT to finish

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], workdir: str) -> None:
        self.argv, self.env, self.workdir = list(argv), dict(env), workdir
        os.makedirs(workdir, exist_ok=True)
        self._proc = None
        self._final_log = None

    @property
    def logfile(self) -> str:
        return os.path.join(self.workdir, "worker.log")

    def start(self, timeout: float = 30.0) -> Worker:
        processes.register(self)
        with open(self.logfile, "ab") as log:
            self._proc = processes.spawn(self.argv, env=base_env() | self.env, log=log)
        runs = self.log().count(self.started_line) + 1
        if not processes.wait_until(lambda: self._started(runs), timeout, interval=0.05):
            self.kill()
            raise AssertionError(f"the worker did not start within {timeout}s:\n{self.log()}")
        return self

    def _started(self, runs: int) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            raise AssertionError(f"the worker exited {self._proc.returncode}:\n{self.log()}")
        return self.log().count(self.started_line) >= runs


def clock_prefix(host: Host, offset: float) -> tuple[str, ...]:
    """A command prefix running a Python module on ``host`` with its wall clock ``offset``
    seconds ahead (or behind, negative) of the others' (see clockshift.py)."""
    return (*host.prefix, sys.executable, CLOCKSHIFT, str(offset))


def wait_for(
    check: Callable[[], object],
    timeout: float = 30.0,
    interval: float = 0.2,
    message: str = "condition",
) -> object:
    """Call ``check()`` until it returns something truthy (returned) or ``timeout`` passes
    (AssertionError naming ``message`` and the last value)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}: {last!r}")
        time.sleep(interval)


def push_and_pull(stack: Stack, label: str) -> Image:
    """alice pushes a new image to ``alice/app:1`` at ``reg1`` with skopeo, pulls it back
    into an OCI layout, and the Index records the tag (from the registry's events)."""
    alice = stack.login("alice")
    registry = stack.registries["reg1"]
    assert registry.url.startswith("https://") and stack.index.url.startswith("https://")
    image = Image.random(layers=2, label=label)
    layout = image.write_layout(os.path.join(stack.workdir, f"layout-{label}"), "1")
    alice.copy(layout, f"docker://{registry.address}/alice/app:1", check=True)
    pulled = os.path.join(stack.workdir, f"pulled-{label}")
    alice.copy(f"docker://{registry.address}/alice/app:1", f"oci:{pulled}:1", check=True)
    with open(os.path.join(pulled, "index.json"), encoding="utf-8") as fh:
        assert image.digest in fh.read()

    def recorded():
        response = stack.api("GET", "/api/v1/repositories/alice/app/-/tags/1", "alice")
        return response.json() if response.status_code == 200 else None

    detail = wait_for(recorded, timeout=30, message="the Index to record alice/app:1 (events)")
    assert detail["digest"] == image.digest
    return image
