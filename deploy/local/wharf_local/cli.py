"""``./deploy/local/up``: options, the start-up flow, the banner, the foreground wait.

Flow (each step reuses what an earlier run made in the data directory):
 1. lock ``<data>/up.lock`` (one ``up`` per data directory);
 2. the Python environment (:mod:`pyenv`), unless ``--python``;
 3. the database: ``INDEX_DATABASE_URL``/``_FILE`` when set, else the private PostgreSQL
    (:mod:`postgres`) started, waited for, and given a database ``wharf``;
 4. the Index secret key (``secrets/index-secret-key``), ``wharf-index migrate``, the
    administrator ``admin`` and the registry ``local`` (:mod:`index_setup`);
 5. the Index, the webhook worker (``wharf-index worker``, same environment), then the
    Registry in token mode on ``<data>/registry``, the services each waited for on
    ``/healthz``; the banner; then wait in the foreground until a signal or a service dies.
    With ``--tls`` both serve HTTPS with certificates of a local CA kept in ``<data>/tls``
    (made once by ``python -m wharf_protocol.devtls`` in the services' environment, which
    has the ``cryptography`` package; SANs 127.0.0.1 and localhost), the Registry trusts
    that CA for its Index calls, ``<data>/tls/trust`` holds the CA alone (a ``--cert-dir``
    for skopeo and podman) and the banner says how to make clients trust it;
 6. always: stop the registry, the webhook worker, the Index, PostgreSQL, in that order.
Exit status: 0 after SIGINT/SIGTERM, 1 when something failed, 2 for bad options.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

from . import banner, index_setup, procs, pyenv
from .postgres import DATABASE, LocalPostgres, PostgresProblem
from .secretfiles import read_or_create, write_secret

CHECKOUT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
)
HOST = "127.0.0.1"
PROBLEMS = (
    PostgresProblem,
    pyenv.EnvironmentProblem,
    index_setup.SetupProblem,
    procs.ServiceDied,
    RuntimeError,
    OSError,
)


def say(message: str) -> None:
    print(f"up: {message}", flush=True)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (1-65535)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="./deploy/local/up",
        description="Run the whole Wharf stack on this machine, in the foreground: a "
        "PostgreSQL of its own, the Index and a token-mode Registry on 127.0.0.1. "
        "Ctrl-C (or SIGTERM) stops everything; running it again reuses the data.",
        epilog="Environment: INDEX_DATABASE_URL uses that database instead of starting "
        "PostgreSQL; WHARF_ADMIN_PASSWORD sets the first administrator's password "
        "(otherwise one is generated and printed once).",
    )
    parser.add_argument(
        "--data-dir",
        default=os.path.join(CHECKOUT, ".wharf"),
        metavar="DIR",
        help="where PostgreSQL, images, secrets and logs live (default: .wharf in the checkout)",
    )
    parser.add_argument(
        "--index-port",
        type=_port,
        default=5001,
        metavar="PORT",
        help="the Index's port on 127.0.0.1 (default: %(default)s)",
    )
    parser.add_argument(
        "--registry-port",
        type=_port,
        default=5000,
        metavar="PORT",
        help="the Registry's port on 127.0.0.1 (default: %(default)s)",
    )
    parser.add_argument(
        "--postgres-port",
        type=_port,
        default=5433,
        metavar="PORT",
        help="the private PostgreSQL's port on 127.0.0.1 (default: "
        "%(default)s, beside a system PostgreSQL on 5432)",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve both over HTTPS, with certificates of a local CA made in DIR/tls",
    )
    parser.add_argument(
        "--python",
        metavar="PATH",
        help="use this interpreter, whose environment already has the "
        "packages, instead of making .wharf/venv",
    )
    return parser


def parse_args(argv) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    external = any(os.environ.get(k) for k in ("INDEX_DATABASE_URL", "INDEX_DATABASE_URL_FILE"))
    ports = [args.index_port, args.registry_port] + ([] if external else [args.postgres_port])
    if len(set(ports)) != len(ports):
        parser.error("--index-port, --registry-port and --postgres-port must differ")
    if args.python and not os.access(args.python, os.X_OK):
        parser.error(f"--python {args.python}: not an executable file")
    args.data_dir = os.path.abspath(args.data_dir)
    args.external_db = external
    return args


def _check_port_free(port: int, option: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise RuntimeError(
                    f"port {port} on {HOST} is in use: pick another with {option} PORT"
                ) from None
            raise


def _lock(data_dir: str):
    fh = open(os.path.join(data_dir, "up.lock"), "a+")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        raise RuntimeError(
            f"another ./deploy/local/up is running on {data_dir} (pid {fh.read().strip() or '?'})"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()}\n")
    fh.flush()
    return fh


def _healthy(url: str, cafile: str | None = None):
    context = ssl.create_default_context(cafile=cafile) if cafile else None

    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    return check


def _with(env: dict[str, str], **values: str) -> dict[str, str]:
    """``env`` with ``values`` set and any ``<NAME>``/``<NAME>_FILE`` twin removed."""
    for name in values:
        for key in (name, name + "_FILE", name.removesuffix("_FILE")):
            env.pop(key, None)
    env.update(values)
    return env


class Stack:
    """What one run started, so that ``stop()`` can take it down in order."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.data = args.data_dir
        self.secrets = os.path.join(self.data, "secrets")
        self.logs = os.path.join(self.data, "logs")
        self.tls = os.path.join(self.data, "tls") if args.tls else None
        self.services: list[procs.Service] = []

    def run(self) -> None:
        """Bring everything up, print the banner, wait; raise when a service dies."""
        args = self.args
        for port, option in (
            (args.index_port, "--index-port"),
            (args.registry_port, "--registry-port"),
        ):
            _check_port_free(port, option)
        venv_dir = os.path.join(CHECKOUT, ".wharf", "venv")
        python = args.python or pyenv.ensure_venv(CHECKOUT, venv_dir, say)
        pyenv.check_packages(python, own_venv=not args.python)
        if self.tls:
            self._make_certificates(python)
        index_env = self._index_env(python)
        cli = pyenv.command(python, "wharf_index")
        account, credential, warnings = self._setup_index(cli, index_env)
        self._start(
            procs.Service(
                "index",
                [*cli, "serve", "--bind", f"{HOST}:{args.index_port}"],
                env=index_env,
                log_path=os.path.join(self.logs, "index.log"),
            ),
            f"{self.index_url}/healthz",
        )
        self.services.append(  # webhook deliveries; no port, nothing to wait for
            procs.Service(
                "webhooks",
                [*cli, "worker"],
                env=index_env,
                log_path=os.path.join(self.logs, "webhooks.log"),
            ).start()
        )
        self._start(
            procs.Service(
                "registry",
                [
                    *pyenv.command(python, "wharf_registry"),
                    "serve",
                    "--bind",
                    f"{HOST}:{args.registry_port}",
                ],
                env=self._registry_env(credential),
                log_path=os.path.join(self.logs, "registry.log"),
            ),
            f"{self.registry_url}/healthz",
        )
        for warning in warnings:
            say(f"warning: {warning}")
        print(
            banner.text(
                index_url=self.index_url,
                registry_url=self.registry_url,
                data=self.data,
                password=account,
                external_db=args.external_db,
                tls_ca=self._trust_ca,
                pids={s.name: s.pid for s in self.services},
            ),
            flush=True,
        )
        while all(s.alive() for s in self.services):
            time.sleep(0.5)
        raise procs.ServiceDied(next(s for s in self.services if not s.alive()))

    @property
    def index_url(self) -> str:
        return f"{self.scheme}://{HOST}:{self.args.index_port}"

    @property
    def registry_url(self) -> str:
        return f"{self.scheme}://{HOST}:{self.args.registry_port}"

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def _trust_ca(self) -> str | None:
        """The CA certificate alone in a directory, the ``--cert-dir`` of clients."""
        return self._file(os.path.join("trust", "ca.crt"))

    def _file(self, name: str) -> str | None:
        """A file of the local CA's directory (None without ``--tls``)."""
        return os.path.join(self.tls, name) if self.tls else None

    def _make_certificates(self, python: str) -> None:
        """Make the CA and the server certificate in ``<data>/tls`` unless they are there."""
        argv = [python, "-m", "wharf_protocol.devtls", self.tls, "--san", HOST]
        result = subprocess.run(  # noqa: S603 - our interpreter and module
            [*argv, "--san", "localhost"], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"could not make certificates in {self.tls}:\n{result.stderr}")
        # A --cert-dir for skopeo/podman holding the CA only: they take every *.key there
        # for a client key, and every *.crt for a CA.
        os.makedirs(os.path.dirname(self._trust_ca), exist_ok=True)
        shutil.copyfile(self._file("ca.crt"), self._trust_ca)
        say(f"TLS: certificates of the local CA {self._file('ca.crt')}")

    def _setup_index(self, cli, env) -> tuple[str | None, str, list[str]]:
        """Migrate, ensure ``admin`` and the registry ``local``.

        Returns (what to say about the admin's password or None, credential file, warnings).
        """
        applied = index_setup.migrate(cli, env)
        say(
            f"database migrated ({len(applied)} migration(s) applied)"
            if applied
            else "database is up to date"
        )
        given = os.environ.get("WHARF_ADMIN_PASSWORD") or None
        created = index_setup.ensure_admin(cli, env, given)
        account = None
        if created is not None:
            account = (
                "from WHARF_ADMIN_PASSWORD"
                if given is not None
                else f"{created}  (generated; shown this once: keep it)"
            )
        credential, warnings = index_setup.ensure_registry(
            cli, env, self.secrets, self.registry_url
        )
        return account, credential, warnings

    def _registry_env(self, credential_file: str) -> dict[str, str]:
        env = _with(
            dict(os.environ),
            REGISTRY_AUTH="token",
            REGISTRY_INDEX_URL=self.index_url,
            REGISTRY_INDEX_NAME=index_setup.REGISTRY,
            REGISTRY_INDEX_CREDENTIAL_FILE=credential_file,
            REGISTRY_STORAGE="filesystem",
            REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=os.path.join(self.data, "registry"),
            REGISTRY_HTTP_ADDR=f"{HOST}:{self.args.registry_port}",
        )
        if self.tls:
            env = _with(
                env,
                REGISTRY_HTTP_TLS_CERTIFICATE=self._file("server.crt"),
                REGISTRY_HTTP_TLS_KEY=self._file("server.key"),
                REGISTRY_INDEX_TLS_CA=self._file("ca.crt"),
            )
        env.setdefault("REGISTRY_LOG_FORMAT", "text")
        return env

    def _index_env(self, python: str) -> dict[str, str]:
        env = dict(os.environ)
        if not self.args.external_db:
            env = _with(env, INDEX_DATABASE_URL_FILE=self._local_postgres(python))
        read_or_create(self.secrets, "index-secret-key", lambda: secrets.token_urlsafe(48))
        env = _with(
            env,
            INDEX_SECRET_KEY_FILE=os.path.join(self.secrets, "index-secret-key"),
            INDEX_BIND=f"{HOST}:{self.args.index_port}",
            INDEX_PUBLIC_URL=self.index_url,
        )
        if self.tls:
            env = _with(
                env,
                INDEX_HTTP_TLS_CERTIFICATE=self._file("server.crt"),
                INDEX_HTTP_TLS_KEY=self._file("server.key"),
                INDEX_REGISTRY_TLS_CA=self._file("ca.crt"),
            )
        env.setdefault("INDEX_LOG_FORMAT", "text")
        return env

    def _local_postgres(self, python: str) -> str:
        """Start the private PostgreSQL; return the path of the file holding its URL."""
        _check_port_free(self.args.postgres_port, "--postgres-port")
        pg = LocalPostgres(self.data, self.args.postgres_port, say)
        pg.prepare()
        server = pg.service(os.path.join(self.logs, "postgres.log"))
        self.services.append(server.start())
        helper = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dbtool.py")
        env = {**os.environ, "WHARF_UP_DB_URL": pg.url()}
        argv = [python, helper, "ensure", DATABASE, "60"]
        with subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as tool:
            try:
                procs.wait_until(lambda: tool.poll() is not None, 70, [server], interval=0.1)
            finally:
                if tool.poll() is None:
                    tool.kill()
            output = tool.stdout.read().strip() if tool.stdout else ""
        if tool.returncode != 0:
            raise PostgresProblem(f"{output}\n{server.log_tail()}")
        say(f"PostgreSQL is up on {HOST}:{pg.port} (data in {pg.datadir})")
        return write_secret(self.secrets, "database-url", pg.url())

    def _start(self, service: procs.Service, health_url: str) -> procs.Service:
        self.services.append(service.start())
        if not procs.wait_until(_healthy(health_url, self._file("ca.crt")), 60, self.services):
            raise RuntimeError(
                f"{service.name} did not answer {health_url} within 60 s; "
                f"the end of {service.log_path}:\n{service.log_tail()}"
            )
        say(f"{service.name} is up: {health_url.removesuffix('/healthz')}")
        return service

    def stop(self) -> None:
        for service in reversed(self.services):
            if service.proc is not None:
                say(f"stopping {service.name} (pid {service.pid})")
                service.stop()


def main(argv=None) -> int:
    args = parse_args(argv)
    procs.install_signal_handlers()
    stack = Stack(args)
    lock = None
    status = 0
    try:
        # Under root, PostgreSQL's account must be able to pass through (not list) it.
        os.makedirs(args.data_dir, mode=0o711 if os.geteuid() == 0 else 0o700, exist_ok=True)
        os.makedirs(stack.logs, exist_ok=True)
        lock = _lock(args.data_dir)
        stack.run()
    except procs.Stopping as stop:
        say(f"{stop}: stopping")
    except PROBLEMS as exc:
        print(f"up: error: {exc}", file=sys.stderr, flush=True)
        status = 1
    finally:
        procs.ignore_signals()
        stack.stop()
        if lock is not None:
            lock.close()
    if status == 0:
        say("stopped")
    return status
