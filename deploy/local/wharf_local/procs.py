"""Start, watch and stop the stack's long-running processes, leaving no orphans.

Each :class:`Service` runs in a session of its own (a terminal's Ctrl-C reaches only the
supervisor, which then stops the services in order: registry, webhook worker, Index,
PostgreSQL) with its output appended to a log file. Where ``setpriv`` exists (util-linux,
Linux) the service also gets a parent-death signal, so even a SIGKILLed supervisor takes it
down; under root ``setpriv`` also switches to the unprivileged account (see
:class:`RunAs`). ``setpriv`` execs the program, and ``wharf-index/-registry serve`` exec
gunicorn, so a service's pid is its server's master pid and its process group holds its
workers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class Stopping(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised in the main thread by SIGINT/SIGTERM: stop everything and leave."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def install_signal_handlers() -> None:
    """Turn the first SIGINT/SIGTERM/SIGHUP into :class:`Stopping`; ignore later ones."""

    def handler(signum, frame):
        ignore_signals()
        raise Stopping(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def ignore_signals() -> None:
    """Ignore SIGINT/SIGTERM/SIGHUP from now on (while stopping)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


@dataclass(frozen=True)
class RunAs:
    """An unprivileged account for PostgreSQL when the supervisor runs as root.

    ``setpriv`` switches to it and keeps one capability, CAP_DAC_READ_SEARCH, as an
    ambient capability: PostgreSQL refuses to run as root, but its data directory may sit
    under a directory only root can enter (``/root/...``, pytest's ``/tmp/pytest-of-root``).
    The capability lets it reach (read, search) such paths; it writes only what it owns.
    """

    name: str
    uid: int
    gid: int

    def prefix(self, setpriv: str) -> list[str]:
        argv = [setpriv, f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups"]
        if can_keep_read_search():
            argv += ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
        return argv


CAP_DAC_READ_SEARCH = 2


def can_keep_read_search() -> bool:
    """True when CAP_DAC_READ_SEARCH is in this process's bounding set (not in a container
    that dropped it, as Docker's default set does)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("CapBnd:"):
                    return bool(int(line.split()[1], 16) >> CAP_DAC_READ_SEARCH & 1)
    except OSError:
        pass
    return False


def unreachable_parent(path: str) -> str | None:
    """The first parent of ``path`` that other users cannot enter, or None."""
    parent = os.path.dirname(os.path.abspath(path))
    while parent != os.path.dirname(parent):
        if os.path.exists(parent) and not os.stat(parent).st_mode & 0o001:
            return parent
        parent = os.path.dirname(parent)
    return None


def setpriv_path() -> str | None:
    return shutil.which("setpriv")


def run_as_prefix(run_as: RunAs | None) -> list[str]:
    """The argv prefix that runs a command as ``run_as`` (nothing when None)."""
    if run_as is None:
        return []
    setpriv = setpriv_path()
    if setpriv is None:
        raise RuntimeError(
            "running as root needs setpriv to drop privileges for PostgreSQL "
            "(apt-get install util-linux), or run ./deploy/local/up as a "
            "normal user"
        )
    return run_as.prefix(setpriv)


class Service:
    """One long-running process: ``start()``, ``alive()``, ``stop()``, ``log_tail()``."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log_path: str,
        stop_signal: int = signal.SIGTERM,
        grace: float = 30.0,
        run_as: RunAs | None = None,
        cwd: str | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_path
        self.stop_signal = stop_signal
        self.grace = grace
        self.run_as = run_as
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> Service:
        prefix = run_as_prefix(self.run_as)
        setpriv = setpriv_path()
        if setpriv is not None:
            death = signal.Signals(self.stop_signal).name.removeprefix("SIG")
            prefix = (prefix or [setpriv]) + ["--pdeathsig", death]
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.name}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [*prefix, *self.argv],
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        """Send the stop signal, wait ``grace`` seconds, then SIGKILL the whole group.

        Returns the exit status (None if it was never started). The group is signalled
        once more at the end so that no worker outlives its master.
        """
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout=self.grace)
            except subprocess.TimeoutExpired:
                _killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        _killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.returncode

    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 16384))
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def wait_until(check, timeout: float, services: Sequence[Service], interval: float = 0.2) -> bool:
    """Poll ``check()`` until true or ``timeout``; raise ServiceDied if a service exits."""
    deadline = time.monotonic() + timeout
    while True:
        for service in services:
            if not service.alive():
                raise ServiceDied(service)
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class ServiceDied(RuntimeError):
    """A service exited on its own; the message carries the end of its log."""

    def __init__(self, service: Service) -> None:
        code = service.proc.returncode if service.proc is not None else None
        super().__init__(
            f"{service.name} exited (status {code}); the end of "
            f"{service.log_path}:\n{service.log_tail()}"
        )
        self.service = service
