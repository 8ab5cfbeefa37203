"""Start helper processes so that nothing outlives the test run.

Every server the harness starts (PostgreSQL, moto, gunicorn) is spawned with
:func:`spawn`: in its own session (so its whole process group can be signalled, and a
terminal Ctrl-C reaches pytest only) and, when started from the main thread, with a parent
death signal so that even a SIGKILLed pytest takes it down. Owners register themselves in
:data:`_LIVE`; :func:`stop_all` (run by the plugin's ``pytest_unconfigure`` and by
``atexit``) stops whatever is still registered.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from typing import IO, Protocol


class Stoppable(Protocol):
    def stop(self) -> None: ...


class LoggedProcess:
    r"""A server the harness runs with a work directory holding its log (shared lifecycle).

    Subclasses set ``workdir``, ``_proc`` and ``_final_log`` (None) and define ``logfile``
    and ``start(timeout)`` (which :func:`register`\ s the owner and spawns ``_proc`` in a
    session of its own); this gives ``stop``, ``kill``, ``pid``, ``restart``, ``log`` and
    ``close``.
    """

    workdir: str
    _proc: subprocess.Popen[bytes] | None
    _final_log: str | None
    stop_grace = 10.0  # seconds between SIGTERM and SIGKILL in stop()

    @property
    def logfile(self) -> str:
        raise NotImplementedError

    def start(self, timeout: float = 30.0):
        raise NotImplementedError

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL what is left after ``stop_grace`` s."""
        if self._proc is not None:
            terminate(self._proc, signal.SIGTERM, grace=self.stop_grace, group=True)
            self._proc = None
        unregister(self)

    def kill(self) -> None:
        """SIGKILL the whole process group at once (a crash, for fault tests)."""
        if self._proc is not None:
            kill(self._proc)
            self._proc = None
        unregister(self)

    @property
    def pid(self) -> int | None:
        """The process's pid while running, else None."""
        return self._proc.pid if self._proc is not None else None

    def restart(self, timeout: float = 30.0):
        """Stop if running, then start again with the same settings."""
        self.stop()
        return self.start(timeout)

    def log(self) -> str:
        """Everything the process wrote to stdout/stderr so far (all its runs)."""
        if self._final_log is not None:
            return self._final_log
        try:
            with open(self.logfile, encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except FileNotFoundError:
            return ""

    def close(self) -> None:
        """Stop, keep the log text in memory, remove the work directory."""
        self.stop()
        if self._final_log is None:
            self._final_log = self.log()
            shutil.rmtree(self.workdir, ignore_errors=True)


_LIVE: list[Stoppable] = []
_LOCK = threading.Lock()


def register(owner: Stoppable) -> None:
    """Remember ``owner`` until :func:`unregister`; :func:`stop_all` stops it."""
    with _LOCK:
        if owner not in _LIVE:
            _LIVE.append(owner)


def unregister(owner: Stoppable) -> None:
    with _LOCK:
        if owner in _LIVE:
            _LIVE.remove(owner)


def live() -> list[Stoppable]:
    """The owners registered now (a copy)."""
    with _LOCK:
        return list(_LIVE)


def stop_all(keep: Sequence[Stoppable] = ()) -> None:
    """Stop every registered owner but ``keep``, newest first; errors are swallowed."""
    with _LOCK:
        owners = [owner for owner in reversed(_LIVE) if owner not in keep]
    for owner in owners:
        with contextlib.suppress(Exception):  # cleanup must reach every owner
            owner.stop()
        unregister(owner)


atexit.register(stop_all)


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    log: IO[bytes],
    cwd: str | None = None,
    user: tuple[int, int] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session, output to ``log``; as ``user`` (uid, gid) if given.

    ``setpriv`` (util-linux, present on Debian) execs the program, so the returned
    process's pid is the program's own pid.
    """
    prefix: list[str] = []
    setpriv = shutil.which("setpriv")
    if user is not None:
        if setpriv is None:
            raise RuntimeError("setpriv not found: apt-get install util-linux")
        uid, gid = user
        prefix = [setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
    if setpriv is not None and threading.current_thread() is threading.main_thread():
        prefix = (prefix or [setpriv]) + ["--pdeathsig", "KILL"]
    return subprocess.Popen(
        [*prefix, *argv],
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Send ``sig`` to the process group ``proc`` leads; a gone group is not an error."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def terminate(
    proc: subprocess.Popen[bytes],
    sig: int = signal.SIGTERM,
    grace: float = 10.0,
    *,
    group: bool = False,
) -> None:
    """Send ``sig`` to the leader (or its whole group), wait ``grace`` seconds for the
    leader to exit, then SIGKILL the whole group."""
    if proc.poll() is None:
        if group:
            signal_group(proc, sig)
        else:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    kill(proc)


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole group at once; return once the leader is reaped and no other
    member still runs (orphaned members may linger as zombies until init reaps them)."""
    signal_group(proc, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    wait_until(lambda: not _running_members(proc.pid), timeout=10, interval=0.01)


def _running_members(pgid: int) -> bool:
    """Whether a non-zombie process of group ``pgid`` exists (Linux ``/proc``)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                return True
    return False


def wait_until(check, timeout: float, interval: float = 0.05) -> bool:
    """Call ``check()`` until it is true or ``timeout`` seconds pass; return the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def base_env() -> dict[str, str]:
    """The minimal environment for children: PATH, HOME, LANG, PYTHONPATH when set."""
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    return env
