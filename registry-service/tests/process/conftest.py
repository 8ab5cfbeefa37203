"""Start Wharf as a real gunicorn process on a given filesystem storage root."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from serve_process import cli
from wharf_registry.gunicorn_conf import DEFAULT_THREADS, DEFAULT_WORKERS

APP = "wharf_registry.wsgi:app"


@pytest.fixture
def start_registry(service_factory, tmp_path):
    """Factory ``(root=None, **env) -> GunicornService`` on filesystem storage, auth none.

    Several registries may share one ``root`` (a restart after ``kill -9`` is a second call);
    ``env`` adds or overrides REGISTRY_* variables.
    """
    count = 0

    def _start(root: Path | None = None, **extra: str):
        nonlocal count
        count += 1
        root = root or tmp_path / "storage"
        root.mkdir(parents=True, exist_ok=True)
        env = {
            "REGISTRY_STORAGE": "filesystem",
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root),
            "REGISTRY_AUTH": "none",
            "REGISTRY_LOG_LEVEL": "WARNING",
            **extra,
        }
        return service_factory(APP, env, f"registry-{count}", workers=1, threads=8)

    return _start


@pytest.fixture
def serve_registry(service_factory, tmp_path):
    """Factory ``(**env) -> GunicornService``: the registry as ``wharf-registry serve`` runs it.

    Its gunicorn configuration (worker class, limits, timeouts) and default workers and
    threads, filesystem storage in ``tmp_path``, auth none; HTTPS with ``tls`` (a
    wharf_testing.tls.TestTLS).
    """

    def _start(tls=None, **extra: str):
        root = tmp_path / "served-storage"
        root.mkdir(parents=True, exist_ok=True)
        env = {
            "REGISTRY_STORAGE": "filesystem",
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root),
            "REGISTRY_AUTH": "none",
            "REGISTRY_LOG_LEVEL": "WARNING",
            **(tls.env("REGISTRY_HTTP_TLS") if tls else {}),
            **extra,
        }
        return service_factory(
            APP,
            env,
            "registry-served",
            tls=tls,
            workers=DEFAULT_WORKERS,
            threads=DEFAULT_THREADS,
            worker_class=None,
            extra_args=("--config", "python:wharf_registry.gunicorn_conf"),
        )

    return _start


@pytest.fixture
def serve(tmp_path):
    """Start ``wharf-registry serve``; yields a starter; stops every process it started by pid."""
    started: list[subprocess.Popen] = []

    def _serve(*args: str, env: dict[str, str]) -> tuple[subprocess.Popen, object]:
        log = tmp_path / f"serve-{len(started)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cli("serve", *args),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(proc)
        return proc, log

    yield _serve
    for proc in started:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
