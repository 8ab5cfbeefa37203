"""``wharf-index serve --config index.yml``: the real command, against the test PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from wharf_testing import free_port

from tests.conftest import SECRET_KEY

START_TIMEOUT = 30
WHARF_INDEX = str(Path(sys.executable).with_name("wharf-index"))


@pytest.fixture
def serve_index(tmp_path):
    """Start ``wharf-index serve ARGS`` with ``env``; stops what it started, by pid."""
    started: list[subprocess.Popen] = []

    def _serve(*args: str, env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"index-{len(started)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [WHARF_INDEX, "serve", *args],
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


def bare_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("INDEX_")}


def wait_answer(proc: subprocess.Popen, url: str, log: Path) -> requests.Response:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}:\n{log.read_text()}")
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"no answer from {url} in {START_TIMEOUT}s:\n{log.read_text()}")


def test_serve_from_a_config_file_with_an_environment_override(tmp_path, db_url, serve_index):
    file_port, env_port = free_port(), free_port()
    config = tmp_path / "index.yml"
    config.write_text(
        f"database:\n  url: {db_url}\nsecret:\n  key: {SECRET_KEY}\n"
        f"bind: 127.0.0.1:{file_port}\nworkers: 2\nlog:\n  format: text\n"
    )
    env = bare_env() | {"INDEX_BIND": f"127.0.0.1:{env_port}", "INDEX_LOG_LEVL": "debug"}
    proc, log = serve_index("--config", str(config), env=env)

    ready = wait_answer(proc, f"http://127.0.0.1:{env_port}/readyz", log)

    assert ready.status_code == 200  # the workers reached the file's database
    assert ready.json() == {"status": "ok", "database": "ok"}
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{file_port}/healthz", timeout=2)  # INDEX_BIND won
    assert (
        "wharf-index: warning: INDEX_LOG_LEVL: unknown setting, ignored; "
        "did you mean INDEX_LOG_LEVEL?"
    ) in log.read_text()


def test_strict_exits_2_without_starting(tmp_path, db_url):
    config = tmp_path / "index.yml"
    config.write_text(f"database:\n  url: {db_url}\nsecret:\n  key: {SECRET_KEY}\nbnid: x\n")
    result = subprocess.run(
        [WHARF_INDEX, "serve", "--config", str(config), "--strict"],
        env=bare_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "wharf-index: error: bnid in index.yml (INDEX_BNID): unknown setting" in result.stderr
    assert "Traceback" not in result.stderr
