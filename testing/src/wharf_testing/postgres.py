"""A throwaway PostgreSQL built from the machine's own server binaries.

:class:`PostgresServer` runs ``initdb`` into a temporary directory and starts ``postgres``
on 127.0.0.1 and a free port, with durability switched off (fsync, synchronous_commit,
full_page_writes) and trust authentication: fast, and fine for data that dies with the run.
PostgreSQL refuses to run as root, so under root the server runs as ``nobody`` (via
``setpriv``) in a directory that user owns. :class:`ExternalPostgres` offers the same API
over an existing server (``INDEX_TEST_DATABASE_URL``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

from . import processes
from .ports import free_port

BINDIR_ENV = "WHARF_TEST_PG_BINDIR"
_BINARIES = ("initdb", "postgres")
_INSTALL_HINT = "apt-get install postgresql (or set INDEX_TEST_DATABASE_URL)"


class PostgresNotFound(RuntimeError):
    """The PostgreSQL server binaries are not installed where we look."""


class PostgresError(RuntimeError):
    """The server did not initialise or start; the message carries its log."""


def find_bindir(candidates: list[str] | None = None) -> str:
    """Return the first directory holding ``initdb`` and ``postgres``.

    Search order: ``candidates`` if given (only those), else ``$WHARF_TEST_PG_BINDIR``
    (only that), else ``pg_config --bindir``, ``/usr/lib/postgresql/*/bin`` (highest
    version first), then the directory of ``initdb`` on PATH.
    """
    if candidates is None:
        forced = os.environ.get(BINDIR_ENV)
        candidates = [forced] if forced else _default_candidates()
    for directory in candidates:
        if all(os.access(os.path.join(directory, b), os.X_OK) for b in _BINARIES):
            return directory
    searched = ", ".join(candidates) or "(nothing)"
    raise PostgresNotFound(
        f"PostgreSQL server binaries not found (looked for initdb and postgres in: {searched}): "
        + _INSTALL_HINT
    )


def _default_candidates() -> list[str]:
    found: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0 and result.stdout.strip():
            found.append(result.stdout.strip())

    def version(path: str) -> tuple[int, ...]:
        name = os.path.basename(os.path.dirname(path))
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    found += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        found.append(os.path.dirname(os.path.realpath(initdb)))
    return found


class _Client:
    """SQL helpers shared by the local and the external server (autocommit connections)."""

    host: str
    port: int
    user: str

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres"):
        """Return a new autocommit psycopg2 connection; the caller closes it.

        ``dbname`` is a database name or a URL of this server (as ``postgres_database``
        returns), so either can be passed to :meth:`execute`.
        """
        if "://" in dbname:
            dbname = urlsplit(dbname).path.lstrip("/")
        conn = psycopg2.connect(self.url(dbname), connect_timeout=5)
        conn.autocommit = True
        return conn

    def execute(self, statement: str, dbname: str = "postgres", params=None) -> list[tuple] | None:
        """Run one statement in autocommit mode; return its rows, or None if it has none."""
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall() if cur.description is not None else None
        finally:
            conn.close()

    def create_database(self, name: str, template: str | None = None) -> str:
        """``CREATE DATABASE name [TEMPLATE template]``; return the new database's URL.

        Copying needs the template to be idle, so other sessions on it are terminated first.
        """
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            self.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                params=(template,),
            )
            statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
        self._run(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """``DROP DATABASE IF EXISTS name WITH (FORCE)``: open sessions do not block it."""
        self._run(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _run(self, statement: sql.Composable) -> None:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
        finally:
            conn.close()


class PostgresServer(_Client):
    """One private PostgreSQL cluster; ``start()`` / ``stop()`` / ``restart()``.

    ``bindir`` overrides the binary search (see :func:`find_bindir`); ``run_as`` is the
    account used when running as root (default ``nobody``). ``host`` is the listen address
    (another address than 127.0.0.1 also lets clients of its subnets in: ``samenet``),
    ``port`` a fixed port (default: a free one), ``prefix`` a command line the server runs
    under (e.g. ``ip netns exec db``, see :mod:`.hosts`; the switch to ``run_as`` follows it).
    """

    def __init__(
        self,
        bindir: str | None = None,
        *,
        run_as: str = "nobody",
        host: str = "127.0.0.1",
        port: int = 0,
        prefix: Sequence[str] = (),
    ) -> None:
        self.bindir = bindir
        self.run_as = run_as
        self.host = host
        self.port = port
        self.prefix = tuple(prefix)
        self.user = "postgres"
        self.workdir: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def datadir(self) -> str:
        assert self.workdir is not None, "server was never started"
        return os.path.join(self.workdir, "data")

    @property
    def logfile(self) -> str:
        assert self.workdir is not None, "server was never started"
        return os.path.join(self.workdir, "postgres.log")

    def start(self, timeout: float = 30.0) -> PostgresServer:
        """Initialise the cluster on first use, start it and wait for connections."""
        if self._proc is not None and self._proc.poll() is None:
            return self
        bindir = find_bindir([self.bindir] if self.bindir else None)
        processes.register(self)
        if self.workdir is None:
            self.workdir = self._make_workdir()
            self.port = self.port or free_port(self.host)
            self._initdb(bindir)
        self._launch(bindir)
        try:
            if not processes.wait_until(self._accepting, timeout, interval=0.1):
                raise PostgresError(
                    f"PostgreSQL did not accept connections within {timeout}s:\n{self.log()}"
                )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Fast shutdown (SIGINT, as ``pg_ctl -m fast``), SIGKILL if needed; remove the data."""
        self._shutdown()
        processes.unregister(self)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def restart(self, timeout: float = 30.0) -> PostgresServer:
        """Stop and start again on the same port, keeping the data."""
        self._shutdown()
        return self.start(timeout)

    def log(self) -> str:
        """The server's log so far ('' when there is none)."""
        try:
            with open(self.logfile, encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except (OSError, AssertionError):
            return ""

    # -- internals -------------------------------------------------------------------------

    def _account(self) -> tuple[int, int] | None:
        if os.geteuid() != 0:
            return None
        entry = pwd.getpwnam(self.run_as)
        return entry.pw_uid, entry.pw_gid

    def _make_workdir(self) -> str:
        workdir = tempfile.mkdtemp(prefix="wharf-pg-", dir="/tmp")  # noqa: S108 - must be reachable by nobody
        account = self._account()
        if account is not None:
            os.chown(workdir, *account)
            _check_traversable(workdir)
        return workdir

    def _initdb(self, bindir: str) -> None:
        argv = [
            os.path.join(bindir, "initdb"),
            "-D",
            self.datadir,
            "-U",
            self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]
        with open(self.logfile, "ab") as log:
            proc = processes.spawn(
                argv, env=self._env(), log=log, cwd=self.workdir, user=self._account()
            )
            try:
                code = proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                processes.kill(proc)
                code = -1
        if code != 0:
            log_text = self.log()
            self.stop()
            raise PostgresError(f"initdb failed (exit {code}):\n{log_text}")
        if self.host != "127.0.0.1":
            # Clients on the listen address's own subnets (the test "hosts") may connect.
            with open(os.path.join(self.datadir, "pg_hba.conf"), "a", encoding="ascii") as hba:
                hba.write("host all all samenet trust\n")

    def _launch(self, bindir: str) -> None:
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": "",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "shared_buffers": "32MB",
        }
        argv = [os.path.join(bindir, "postgres"), "-D", self.datadir]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        user = self._account()
        if self.prefix:
            # The prefix (e.g. ``ip netns exec HOST``) needs root: switch user after it.
            argv = [*self.prefix, *_switch_user(user), *argv]
            user = None
        with open(self.logfile, "ab") as log:
            self._proc = processes.spawn(
                argv, env=self._env(), log=log, cwd=self.workdir, user=user
            )

    def _env(self) -> dict[str, str]:
        env = processes.base_env()
        env.update(HOME=self.workdir or "/", LANG="C", LC_ALL="C")
        return env

    def _accepting(self) -> bool:
        assert self._proc is not None
        if self._proc.poll() is not None:
            log_text = self.log()
            self._proc = None
            raise PostgresError(f"postgres exited while starting:\n{log_text}")
        try:
            psycopg2.connect(self.url(), connect_timeout=2).close()
        except psycopg2.OperationalError:
            return False
        return True

    def _shutdown(self) -> None:
        if self._proc is not None:
            processes.terminate(self._proc, signal.SIGINT, grace=15.0)
            self._proc = None


def _switch_user(account: tuple[int, int] | None) -> list[str]:
    """``setpriv`` arguments that run the rest of a command line as ``account`` (uid, gid)."""
    if account is None:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise PostgresError("setpriv not found: apt-get install util-linux")
    uid, gid = account
    return [setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]


def _check_traversable(path: str) -> None:
    """Every parent of ``path`` must let others search it, or ``nobody`` cannot reach it."""
    parent = os.path.dirname(path)
    while parent and parent != os.path.dirname(parent):
        if not os.stat(parent).st_mode & 0o001:
            raise PostgresError(f"{parent} is not traversable by other users; cannot run postgres")
        parent = os.path.dirname(parent)


class ExternalPostgres(_Client):
    """The :class:`PostgresServer` API over an existing server (``INDEX_TEST_DATABASE_URL``).

    ``start``/``stop`` do nothing (the server is not ours); ``restart`` raises.
    """

    def __init__(self, url: str) -> None:
        self._parts = urlsplit(url)
        self.host = self._parts.hostname or "127.0.0.1"
        self.port = self._parts.port or 5432
        self.user = self._parts.username or "postgres"
        self.pid = None

    def url(self, dbname: str = "postgres") -> str:
        return urlunsplit(self._parts._replace(path="/" + dbname))

    def start(self, timeout: float = 30.0) -> ExternalPostgres:
        return self

    def stop(self) -> None:
        pass

    def restart(self, timeout: float = 30.0) -> ExternalPostgres:
        raise RuntimeError(
            "restart() needs the harness's own PostgreSQL: unset INDEX_TEST_DATABASE_URL"
        )

    def log(self) -> str:
        return ""
