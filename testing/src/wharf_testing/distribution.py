"""The reference registry (CNCF Distribution, Debian's ``docker-registry``) as a real process.

:class:`DistributionRegistry` writes a ``config.yml`` (filesystem storage in its own temp
directory, ``http.addr`` on ``host:port``, and, when given, ``auth.token`` with realm,
service, issuer and ``rootcertbundle``, or ``auth.htpasswd`` with a bcrypt htpasswd file)
and runs ``docker-registry serve config.yml``. It
counts as started once ``GET /v2/`` answers (200 without auth, 401 with token auth). The
configuration is written as JSON, which is YAML too.

Only the certificate bundle file is re-read on :meth:`restart`: the registry loads it once
at start, so a token server's new key needs the file fetched again and a restart.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Sequence

import requests

from . import processes
from .ports import free_port

BINARY = "docker-registry"


class DistributionError(RuntimeError):
    """The registry did not start; the message carries its log."""


class DistributionRegistry(processes.LoggedProcess):
    """``docker-registry serve`` on ``host:port``: ``start()``, ``stop()``, ``restart()``."""

    def __init__(
        self,
        name: str = "distribution",
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        prefix: Sequence[str] = (),
        token_realm: str | None = None,
        token_service: str | None = None,
        token_issuer: str | None = None,
        root_cert_bundle: str | None = None,
        htpasswd: str | None = None,
    ) -> None:
        self.name, self.host, self.port = name, host, port or free_port(host)
        self.prefix = tuple(prefix)  # run under it, e.g. ``ip netns exec HOST`` (see .hosts)
        self.workdir = tempfile.mkdtemp(prefix=f"wharf-{name}-")
        self.storage = os.path.join(self.workdir, "storage")
        self.config_path = os.path.join(self.workdir, "config.yml")
        self.binary = shutil.which(BINARY) or BINARY
        config: dict = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text"},
            "storage": {"filesystem": {"rootdirectory": self.storage}, "delete": {"enabled": True}},
            "http": {"addr": f"{host}:{self.port}", "secret": secrets.token_hex(16)},
        }
        if token_realm:
            config["auth"] = {
                "token": {
                    "realm": token_realm,
                    "service": token_service,
                    "issuer": token_issuer,
                    "rootcertbundle": root_cert_bundle,
                }
            }
        elif htpasswd:
            config["auth"] = {"htpasswd": {"realm": f"{name} realm", "path": htpasswd}}
        with open(self.config_path, "w", encoding="utf-8") as fh:
            json.dump(config, fh, indent=2)
        self._proc = None
        self._final_log: str | None = None

    def __repr__(self) -> str:
        return f"<DistributionRegistry {self.name} {self.url} pid={self.pid}>"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def address(self) -> str:
        """``host:port``, as skopeo and docker want it."""
        return f"{self.host}:{self.port}"

    @property
    def logfile(self) -> str:
        return os.path.join(self.workdir, "registry.log")

    def start(self, timeout: float = 30.0) -> DistributionRegistry:
        """Start and wait until ``/v2/`` answers; DistributionError if it exits first or
        ``timeout`` passes."""
        if self._proc is not None and self._proc.poll() is None:
            return self
        processes.register(self)
        with open(self.logfile, "ab") as log:
            argv = [*self.prefix, self.binary, "serve", self.config_path]
            self._proc = processes.spawn(argv, env=processes.base_env(), log=log)
        try:
            if not processes.wait_until(self._answering, timeout, interval=0.1):
                raise DistributionError(
                    f"{self.name} not answering within {timeout}s at {self.url}; log:\n"
                    + self.log()
                )
        except BaseException:
            self.stop()
            raise
        return self

    def _answering(self) -> bool:
        assert self._proc is not None
        if self._proc.poll() is not None:
            raise DistributionError(
                f"{self.name} exited with {self._proc.returncode} while starting; log:\n"
                + self.log()
            )
        try:
            response = requests.get(self.url + "/v2/", timeout=2)
        except requests.RequestException:
            return False
        return response.status_code in (200, 401)
