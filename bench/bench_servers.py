"""Processes the benchmark starts: Wharf (``wharf-registry serve``), the reference registry
(Debian's ``docker-registry``, CNCF Distribution) and moto's S3 server, all on 127.0.0.1.

Each server runs in its own process group, logs to a file in the run's work directory,
and is stopped by pid (SIGTERM, then SIGKILL) when the benchmark ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = [REPO_ROOT / "registry-service" / "src", REPO_ROOT / "shared-protocol" / "src"]
REFERENCE_BINARY = "/usr/bin/docker-registry"
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret"}
REGION = "us-east-1"
# Variables that point tools at a CA bundle or a proxy; the reference registry's AWS SDK
# refuses to start with a custom CA bundle and a plain-HTTP endpoint.
_DROPPED_ENV = (
    "AWS_CA_BUNDLE",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _DROPPED_ENV and not k.startswith("REGISTRY_")
    }
    env["PYTHONPATH"] = os.pathsep.join(
        [str(p) for p in SOURCE_DIRS] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


# What every benchmarked Wharf registry gets: quiet logs (the access log stays on), blob
# bytes always through the registry.
WHARF_SETTINGS = {"REGISTRY_LOG_LEVEL": "WARNING", "REGISTRY_STORAGE_REDIRECT_DISABLE": "true"}
# ``wharf-registry serve``'s gunicorn options besides bind, workers and threads.
WHARF_GUNICORN_ARGS = ["--config", "python:wharf_registry.gunicorn_conf", "--timeout", "600"]


def disk_storage(root: Path) -> dict[str, str]:
    """Settings of a Wharf registry storing under ``root`` (filesystem driver)."""
    return {
        "REGISTRY_STORAGE": "filesystem",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root),
    }


class Server:
    """A child process serving HTTP on ``127.0.0.1:port``."""

    name = "server"

    def __init__(
        self, workdir: Path, argv: list[str], env: dict[str, str], port: int, health: str
    ) -> None:
        self.workdir, self.port, self.health = workdir, port, health
        self.log_path = workdir / f"{self.name}-{port}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                argv,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                start_new_session=True,
            )
        self._wait_ready()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + self.health, timeout=2):  # noqa: S310
                    return
            except urllib.error.HTTPError:
                return  # it answers: good enough (e.g. 401 on /v2/)
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready in {timeout}s")

    def pids(self) -> list[int]:
        """The server's process and all its descendants (gunicorn master + workers)."""
        found, frontier = [], [self.proc.pid]
        while frontier:
            pid = frontier.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                try:
                    frontier += [int(c) for c in task.read_text().split()]
                except OSError:
                    continue
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


class MotoS3(Server):
    name = "moto"

    def __init__(self, workdir: Path) -> None:
        port = free_port()
        env = base_env() | S3_CREDENTIALS
        argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        super().__init__(workdir, argv, env, port, "/moto-api/")

    def create_bucket(self, name: str) -> str:
        import boto3  # only needed with S3

        client = boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        client.create_bucket(Bucket=name)
        return name


class Wharf(Server):
    """``wharf-registry serve`` (gunicorn gthread) with ``workers`` x ``threads``."""

    name = "wharf"

    def __init__(
        self,
        workdir: Path,
        storage: str,
        s3: MotoS3 | None = None,
        workers: int = 2,
        threads: int = 16,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        port = free_port()
        env = base_env() | WHARF_SETTINGS | {"REGISTRY_AUTH": "none"} | (extra_env or {})
        if storage == "disk":
            root = workdir / f"wharf-{port}"
            root.mkdir()
            env |= disk_storage(root)
        else:
            env |= S3_CREDENTIALS | {
                "REGISTRY_STORAGE": "s3",
                "REGISTRY_STORAGE_S3_BUCKET": s3.create_bucket(f"wharf-{port}"),
                "REGISTRY_STORAGE_S3_ENDPOINT_URL": s3.url,
                "REGISTRY_STORAGE_S3_REGION": REGION,
                "REGISTRY_STORAGE_S3_REDIRECT": "false",
            }
        argv = [
            sys.executable,
            "-m",
            "wharf_registry.cli",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ]
        super().__init__(workdir, argv, env, port, "/healthz")


class Reference(Server):
    """The reference registry with an equivalent configuration (access log on, no redirect)."""

    name = "reference"

    @staticmethod
    def available() -> bool:
        return shutil.which(REFERENCE_BINARY) is not None

    def __init__(
        self,
        workdir: Path,
        storage: str,
        s3: MotoS3 | None = None,
        token: dict[str, str] | None = None,
        proxy: str | None = None,
    ) -> None:
        """``token``: Distribution's ``auth.token`` (``realm``, ``service``, ``issuer``,
        ``rootcertbundle``); without it, no authentication. ``proxy``: the URL of a
        registry to be a pull-through cache of (``proxy.remoteurl``)."""
        port = free_port()
        if storage == "disk":
            root = workdir / f"reference-{port}"
            root.mkdir()
            driver = f"  filesystem:\n    rootdirectory: {root}\n"
        else:
            bucket = s3.create_bucket(f"reference-{port}")
            driver = (
                "  s3:\n"
                f"    accesskey: {S3_CREDENTIALS['AWS_ACCESS_KEY_ID']}\n"
                f"    secretkey: {S3_CREDENTIALS['AWS_SECRET_ACCESS_KEY']}\n"
                f"    region: {REGION}\n    regionendpoint: {s3.url}\n    bucket: {bucket}\n"
                "    secure: false\n    v4auth: true\n"
            )
        config = workdir / f"reference-{port}.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n"
            + driver
            + "  redirect:\n    disable: true\n  delete:\n    enabled: true\n"
            + f"http:\n  addr: 127.0.0.1:{port}\n"
            + (f"proxy:\n  remoteurl: {proxy}\n" if proxy else "")
            + (
                "auth:\n  token:\n" + "".join(f"    {k}: {v}\n" for k, v in token.items())
                if token
                else ""
            )
        )
        super().__init__(
            workdir, [REFERENCE_BINARY, "serve", str(config)], base_env(), port, "/v2/"
        )
