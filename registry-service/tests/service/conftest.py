"""Fixtures shared by the service tests."""

from __future__ import annotations

import pytest
from wharf_registry.storage import FilesystemDriver, create_driver


@pytest.fixture(params=["filesystem", pytest.param("s3", marks=pytest.mark.s3)])
def store(request, tmp_path):
    """The storage the garbage collection tests run on: a folder, or a bucket of the moto
    server (tests/conftest.py starts it)."""
    if request.param == "filesystem":
        return FilesystemDriver(str(tmp_path / "storage"))
    server = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    return create_driver(
        "s3", {"bucket": bucket, "endpoint_url": server.endpoint_url, "region": server.region}
    )
