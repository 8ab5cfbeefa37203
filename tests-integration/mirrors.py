"""A stock ``docker-registry`` (CNCF Distribution) as an upstream on ``registry2`` and Wharf
registries mirroring it (``REGISTRY_PROXY_REMOTEURL``) on ``registry``, for the
pull-through tests; and the requests a log shows (both write an access log line per
request: Distribution ``"GET /v2/... HTTP/1.1" 200``, Wharf's gunicorn the same with the
user agent after it).
"""

from __future__ import annotations

import os
import re

from wharf_testing.distribution import DistributionRegistry
from wharf_testing.services import GunicornService


def start_upstream(network, name: str, port: int) -> DistributionRegistry:
    """``docker-registry`` (no auth) on ``registry2``, port ``port`` (namespaces)."""
    host = network["registry2"]
    upstream = DistributionRegistry(
        name, host=host.address, port=host.port(port), prefix=host.prefix
    )
    return upstream.start()


def start_mirror(
    network,
    workdir: str,
    name: str,
    upstream_url: str,
    port: int,
    workers: int = 1,
    env: dict[str, str] | None = None,
) -> GunicornService:
    """A Wharf registry without auth on ``registry`` mirroring ``upstream_url``, under the
    registry's own gunicorn config; ``env`` adds settings (e.g. ``REGISTRY_PROXY_TTL``)."""
    host = network["registry"]
    service = GunicornService(
        "wharf_registry.wsgi:app",
        {
            "REGISTRY_AUTH": "none",
            "REGISTRY_STORAGE": "filesystem",
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": os.path.join(workdir, name),
            "REGISTRY_PROXY_REMOTEURL": upstream_url,
            "REGISTRY_LOG_FORMAT": "text",
            **(env or {}),
        },
        f"mirror {name}",
        host=host.address,
        port=host.port(port),
        prefix=host.prefix,
        workers=workers,
        threads=16,  # the default config's
        worker_class=None,  # the config's (wharf_registry.gunicorn_conf)
        extra_args=["--config", "python:wharf_registry.gunicorn_conf"],
    )
    return service.start(timeout=60)


def requests_logged(log: str, method: str, path: str, status: int = 200) -> list[str]:
    """The access log lines of ``METHOD path`` answered ``status``."""
    pattern = re.compile(rf'"{method} {re.escape(path)} HTTP/1\.[01]" {status}\b')
    return [line for line in log.splitlines() if pattern.search(line)]
