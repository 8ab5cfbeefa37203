"""Start a Wharf registry under gunicorn for real clients (filesystem or S3; none or htpasswd)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

USER, PASSWORD = "alice", "correct horse battery"


@dataclass
class RunningRegistry:
    """A started registry: ``host`` is ``127.0.0.1:PORT`` as image references want it."""

    service: object
    host: str
    creds: str | None
    storage_root: Path | None = None
    s3_client: object = None
    bucket: str | None = None

    def stored_objects(self) -> list[str]:
        """Return every object or file the registry wrote to its storage."""
        if self.bucket:
            pages = self.s3_client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
            return [obj["Key"] for page in pages for obj in page.get("Contents", ())]
        return [str(p) for p in self.storage_root.rglob("*") if p.is_file()]


def make_htpasswd(path: Path, user: str = USER, password: str = PASSWORD) -> Path:
    """Write a bcrypt htpasswd file with ``htpasswd -B`` (the format users will bring)."""
    subprocess.run(
        ["htpasswd", "-B", "-b", "-c", str(path), user, password],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return path


@pytest.fixture
def registry(request, service_factory, tmp_path):
    """Factory: ``registry(auth="none"|"htpasswd", storage="filesystem"|"s3")``, started."""

    def _start(auth: str = "none", storage: str = "filesystem") -> RunningRegistry:
        env = {"REGISTRY_AUTH": auth, "REGISTRY_STORAGE": storage, "REGISTRY_LOG_LEVEL": "WARNING"}
        extra: dict = {}
        if storage == "filesystem":
            root = tmp_path / "storage"
            root.mkdir(exist_ok=True)
            env["REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY"] = str(root)
            extra["storage_root"] = root
        else:
            server = request.getfixturevalue("s3_server")
            bucket = request.getfixturevalue("s3_bucket")
            env.update(
                REGISTRY_STORAGE_S3_BUCKET=bucket,
                REGISTRY_STORAGE_S3_ENDPOINT_URL=server.endpoint_url,
                REGISTRY_STORAGE_S3_REGION=server.region,
                **server.credentials,
            )
            extra.update(s3_client=server.client(), bucket=bucket)
        creds = None
        if auth == "htpasswd":
            env["REGISTRY_AUTH_HTPASSWD_PATH"] = str(make_htpasswd(tmp_path / "htpasswd"))
            env["REGISTRY_AUTH_HTPASSWD_REALM"] = "wharf-test"
            creds = f"{USER}:{PASSWORD}"
        service = service_factory("wharf_registry.wsgi:app", env, f"registry-{auth}-{storage}")
        host = service.url.split("://", 1)[1].rstrip("/")
        return RunningRegistry(service=service, host=host, creds=creds, **extra)

    return _start
