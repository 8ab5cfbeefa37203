"""The stack's own PostgreSQL: a cluster in ``<data dir>/postgres/data`` that persists.

- Server binaries: ``$WHARF_PG_BINDIR`` (only that, when set), else ``pg_config --bindir``,
  ``/usr/lib/postgresql/*/bin`` (Debian, newest first), Homebrew's ``postgresql@*``, then
  ``initdb`` on PATH; none -> what to install, and how to use a database one has instead.
- First run: ``initdb`` into ``data.new`` then renamed to ``data`` (an interrupted initdb
  never leaves a half-made cluster), superuser ``wharf`` with a random password kept in
  ``<data dir>/secrets/postgres-password`` (0600), password (scram) authentication only.
- Runs: ``postgres -D data`` on 127.0.0.1 and the given port, no Unix socket, fsync on
  (these are real data); stopped with SIGINT (fast shutdown).
- Under root the cluster belongs to, and the server runs as, an unprivileged account:
  the owner of an existing cluster, else ``postgres`` if that user exists, else ``nobody``
  (PostgreSQL refuses to run as root; see :class:`procs.RunAs`).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys

from . import procs
from .secretfiles import read_or_create

USER = "wharf"
DATABASE = "wharf"
BINDIR_ENV = "WHARF_PG_BINDIR"


class PostgresProblem(RuntimeError):
    """PostgreSQL is missing or would not initialise; the message says what to do."""


def install_hint() -> str:
    if sys.platform == "darwin":
        return "brew install postgresql@15 (then run ./deploy/local/up again)"
    return (
        "apt-get install postgresql (Debian/Ubuntu), dnf install postgresql-server "
        "(Fedora/RHEL) or apk add postgresql (Alpine); "
        "then run ./deploy/local/up again"
    )


def find_bindir() -> str:
    """Return a directory holding ``initdb`` and ``postgres``; PostgresProblem if none."""
    forced = os.environ.get(BINDIR_ENV)
    candidates: list[str] = [forced] if forced else []
    pg_config = None if forced else shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(out.stdout.strip())

    def version(path: str) -> tuple[int, ...]:
        name = os.path.basename(os.path.dirname(path)).rpartition("@")[2]
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    found = (
        []
        if forced
        else glob.glob("/usr/lib/postgresql/*/bin")
        + glob.glob("/opt/homebrew/opt/postgresql@*/bin")
        + glob.glob("/usr/local/opt/postgresql@*/bin")
    )
    candidates += sorted(found, key=version, reverse=True)
    initdb = None if forced else shutil.which("initdb")
    if initdb:
        candidates.append(os.path.dirname(os.path.realpath(initdb)))
    for directory in candidates:
        if directory and all(
            os.access(os.path.join(directory, b), os.X_OK) for b in ("initdb", "postgres")
        ):
            return directory
    where = f" in {BINDIR_ENV}={forced}" if forced else ""
    raise PostgresProblem(
        f"the PostgreSQL server (initdb, postgres) is not installed{where}.\n"
        f"  Install it: {install_hint()}\n"
        "  or point the stack at a database you have: "
        "INDEX_DATABASE_URL=postgresql://user:password@host:5432/wharf "
        "./deploy/local/up"
    )


class LocalPostgres:
    """The cluster under ``<data_dir>/postgres``; ``prepare()`` then ``service()``."""

    def __init__(self, data_dir: str, port: int, say) -> None:
        self.root = os.path.join(data_dir, "postgres")
        self.datadir = os.path.join(self.root, "data")
        self.secrets_dir = os.path.join(data_dir, "secrets")
        self.port = port
        self.say = say
        self.run_as = self._account()
        self.bindir = ""
        self.password = ""

    def _account(self) -> procs.RunAs | None:
        if os.geteuid() != 0:
            return None
        try:
            entry = pwd.getpwuid(os.stat(self.datadir).st_uid)
        except (OSError, KeyError):
            entry = None
        if entry is None or entry.pw_uid == 0:
            for name in ("postgres", "nobody"):
                try:
                    entry = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
            else:
                raise PostgresProblem(
                    "running as root, and neither a 'postgres' nor a "
                    "'nobody' account exists to run PostgreSQL: "
                    "run up as a normal user"
                )
        return procs.RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid)

    def url(self, dbname: str = DATABASE) -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{dbname}"

    def prepare(self) -> None:
        """Find the binaries, read the password, initdb on first run."""
        self.bindir = find_bindir()
        procs.run_as_prefix(self.run_as)  # fail early when root has no setpriv
        blocked = procs.unreachable_parent(self.root)
        if self.run_as is not None and blocked and not procs.can_keep_read_search():
            raise PostgresProblem(
                f"PostgreSQL runs as {self.run_as.name}, which cannot enter {blocked} "
                "(and this process may not grant it CAP_DAC_READ_SEARCH): pass a --data-dir "
                "under a directory others can enter, e.g. /var/lib/wharf"
            )
        self.password = read_or_create(
            self.secrets_dir, "postgres-password", lambda: secrets.token_urlsafe(24)
        )
        if not os.path.exists(os.path.join(self.datadir, "PG_VERSION")):
            self._initdb()

    def _initdb(self) -> None:
        owner = f" as user {self.run_as.name}" if self.run_as else ""
        self.say(f"creating a PostgreSQL cluster in {self.datadir}{owner}")
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        if self.run_as is not None:
            os.chown(self.root, self.run_as.uid, self.run_as.gid)
        staging = self.datadir + ".new"
        shutil.rmtree(staging, ignore_errors=True)
        pwfile = os.path.join(self.root, "initdb-password")
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self.password + "\n")
        if self.run_as is not None:
            os.chown(pwfile, self.run_as.uid, self.run_as.gid)
        argv = [
            *procs.run_as_prefix(self.run_as),
            os.path.join(self.bindir, "initdb"),
            "-D",
            staging,
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
        ]
        try:
            result = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "LC_ALL": "C"},
                cwd=self.root,
            )
        finally:
            os.unlink(pwfile)
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise PostgresProblem(
                f"initdb failed (status {result.returncode}):\n{result.stdout}{result.stderr}"
            )
        os.rename(staging, self.datadir)

    def service(self, log_path: str) -> procs.Service:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": "",
            "fsync": "on",
            "logging_collector": "off",
        }
        argv = [os.path.join(self.bindir, "postgres"), "-D", self.datadir]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return procs.Service(
            "postgresql",
            argv,
            env=env,
            log_path=log_path,
            stop_signal=signal.SIGINT,
            grace=60.0,
            run_as=self.run_as,
            cwd=self.root,
        )
