"""Run a WSGI app under gunicorn (gthread) as a real process, for integration and fault tests.

The service gets only the environment it is given (over a minimal base: PATH, HOME, LANG,
PYTHONPATH), writes stdout+stderr to a log file, and counts as started once
``GET <health_path>`` answers 200. With ``tls`` (:class:`wharf_testing.tls.TestTLS`, whose
``env(PREFIX)`` the service's environment carries) its ``url`` is ``https://`` and the health
check verifies the server against the test CA, presenting the test client certificate.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence

import requests

from . import processes
from .ports import free_port


class ServiceError(RuntimeError):
    """The service did not become healthy; the message carries its log."""


class GunicornService(processes.LoggedProcess):
    """``gunicorn APP`` on ``host:port``: ``start()``, ``stop()``, ``kill()``, ``restart()``."""

    def __init__(
        self,
        app: str,
        env: Mapping[str, str],
        name: str,
        port: int | None = None,
        host: str = "127.0.0.1",
        workers: int = 1,
        threads: int = 8,
        health_path: str = "/healthz",
        cwd: str | None = None,
        extra_args: Sequence[str] = (),
        prefix: Sequence[str] = (),
        worker_class: str | None = "gthread",
        tls=None,
    ) -> None:
        self.app, self.env, self.name = app, dict(env), name
        self.host, self.port = host, port or free_port(host)
        self.workers, self.threads = workers, threads
        self.health_path, self.cwd, self.extra_args = health_path, cwd, tuple(extra_args)
        self.prefix = tuple(prefix)  # run under it, e.g. ``ip netns exec HOST`` (see .hosts)
        self.worker_class = worker_class  # None: the one a ``-c`` config in extra_args names
        self.tls = tls  # a wharf_testing.tls.TestTLS (the env carries the server's files)
        self.workdir = tempfile.mkdtemp(prefix=f"wharf-{_safe(name)}-")
        self._proc = None
        self._final_log: str | None = None

    def __repr__(self) -> str:
        return f"<GunicornService {self.name} {self.url} pid={self.pid}>"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def logfile(self) -> str:
        return os.path.join(self.workdir, "service.log")

    def argv(self) -> list[str]:
        return [
            *self.prefix,
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"{self.host}:{self.port}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            *(("--worker-class", self.worker_class) if self.worker_class else ()),
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            *self.extra_args,
            self.app,
        ]

    def start(self, timeout: float = 30.0) -> GunicornService:
        """Start and wait until the health path answers 200; raise :class:`ServiceError` if
        the process exits first or ``timeout`` passes (the error carries the log)."""
        if self._proc is not None and self._proc.poll() is None:
            return self
        processes.register(self)
        with open(self.logfile, "ab") as log:
            env = processes.base_env() | self.env
            self._proc = processes.spawn(self.argv(), env=env, log=log, cwd=self.cwd)
        try:
            if not processes.wait_until(self._healthy, timeout, interval=0.1):
                raise ServiceError(
                    f"{self.name} not healthy within {timeout}s at {self.url}{self.health_path};"
                    f" log:\n{self.log()}"
                )
        except BaseException:
            self.kill()
            raise
        return self

    def _healthy(self) -> bool:
        assert self._proc is not None
        if self._proc.poll() is not None:
            raise ServiceError(
                f"{self.name} exited with {self._proc.returncode} while starting; log:\n"
                + self.log()
            )
        try:
            tls = self.tls.requests_kwargs() if self.tls else {}
            response = requests.get(self.url + self.health_path, timeout=2, **tls)
        except requests.RequestException:
            return False
        return response.status_code == 200


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:40]
