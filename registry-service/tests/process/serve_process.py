"""Run ``wharf-registry`` as a real process: its command line, environment, first answer."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import requests

START_TIMEOUT = 30


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "wharf_registry.cli", *args]


def registry_env(tmp_path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    root = tmp_path / "storage"
    root.mkdir(exist_ok=True)
    env.update(REGISTRY_STORAGE="filesystem", REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=str(root))
    env.update(overrides)
    return env


def wait_healthy(proc: subprocess.Popen, url: str, log) -> requests.Response:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}:\n{log.read_text()}")
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"no answer from {url} in {START_TIMEOUT}s:\n{log.read_text()}")
