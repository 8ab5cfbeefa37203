"""S3 for tests: moto's standalone server in its own process, or an endpoint you name.

:class:`MotoServer` runs ``python -m moto.server`` on 127.0.0.1 and a free port (a real
separate process, so the code under test talks HTTP to it exactly as to S3).
:class:`ExternalS3` offers the same API over ``REGISTRY_TEST_S3_ENDPOINT_URL``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid

import boto3
import requests

from . import processes
from .ports import free_port

ENDPOINT_ENV = "REGISTRY_TEST_S3_ENDPOINT_URL"
TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 - moto accepts anything
    "AWS_DEFAULT_REGION": "us-east-1",
}


class MotoError(RuntimeError):
    """The moto server did not start; the message carries its log."""


class _Client:
    endpoint_url: str
    region: str
    credentials: dict[str, str]

    def client(self):
        """A boto3 S3 client on this endpoint with :attr:`credentials`."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
        )

    def create_bucket(self, name: str | None = None) -> str:
        """Create ``name`` (default: a random valid name) and return it."""
        name = name or f"wharf-test-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)
        return name


class MotoServer(_Client):
    """moto's S3 server as a child process: ``start()``, ``stop()``, ``endpoint_url``."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or 0
        self.region = TEST_CREDENTIALS["AWS_DEFAULT_REGION"]
        self.credentials = dict(TEST_CREDENTIALS)
        self.workdir: str | None = None
        self._proc = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 30.0) -> MotoServer:
        """Start the server and wait until it answers HTTP; raise :class:`MotoError` if not."""
        if self._proc is not None and self._proc.poll() is None:
            return self
        self.port = self.port or free_port(self.host)
        self.workdir = self.workdir or tempfile.mkdtemp(prefix="wharf-moto-")
        argv = [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]
        env = processes.base_env() | self.credentials
        processes.register(self)
        with open(self._logfile(), "ab") as log:
            self._proc = processes.spawn(argv, env=env, log=log, cwd=self.workdir)
        try:
            if not processes.wait_until(self._answering, timeout, interval=0.1):
                raise MotoError(f"moto did not answer within {timeout}s:\n{self.log()}")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM, then SIGKILL the group; remove the log directory."""
        if self._proc is not None:
            processes.terminate(self._proc, grace=5.0)
            self._proc = None
        processes.unregister(self)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def log(self) -> str:
        if self.workdir is None:
            return ""
        with open(self._logfile(), encoding="utf-8", errors="replace") as fh:
            return fh.read()

    def _logfile(self) -> str:
        assert self.workdir is not None
        return os.path.join(self.workdir, "moto.log")

    def _answering(self) -> bool:
        assert self._proc is not None
        if self._proc.poll() is not None:
            raise MotoError(f"moto exited with {self._proc.returncode}:\n{self.log()}")
        try:
            requests.get(self.endpoint_url + "/", timeout=2)
        except requests.RequestException:
            return False
        return True


class ExternalS3(_Client):
    """The :class:`MotoServer` API over an existing endpoint; ``start``/``stop`` do nothing.

    Credentials and region come from ``REGISTRY_TEST_S3_ACCESS_KEY``,
    ``REGISTRY_TEST_S3_SECRET_KEY`` and ``REGISTRY_TEST_S3_REGION`` (test values if unset).
    """

    def __init__(self, endpoint_url: str, environ=os.environ) -> None:
        self.endpoint_url = endpoint_url
        self.region = environ.get("REGISTRY_TEST_S3_REGION", TEST_CREDENTIALS["AWS_DEFAULT_REGION"])
        self.credentials = {
            "AWS_ACCESS_KEY_ID": environ.get(
                "REGISTRY_TEST_S3_ACCESS_KEY", TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"]
            ),
            "AWS_SECRET_ACCESS_KEY": environ.get(
                "REGISTRY_TEST_S3_SECRET_KEY", TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
            ),
            "AWS_DEFAULT_REGION": self.region,
        }
        self.pid = None

    def start(self, timeout: float = 30.0) -> ExternalS3:
        return self

    def stop(self) -> None:
        pass

    def log(self) -> str:
        return ""
