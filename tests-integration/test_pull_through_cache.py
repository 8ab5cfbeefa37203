"""The pull-through cache with real processes on their own hosts (network namespaces).

The upstream is a stock ``docker-registry`` (CNCF Distribution) on ``registry2``; Wharf
registries on ``registry`` mirror it (``REGISTRY_PROXY_REMOTEURL``). skopeo on ``client``
pushes an image to the upstream, pulls it through the mirror, then, with the upstream
stopped, pulls it again from the mirror's cache. A chain of three (C mirrors B mirrors the
upstream A) serves an image none of them but A held.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from oci_client import Image
from skopeo import Skopeo
from wharf_testing.distribution import DistributionRegistry
from wharf_testing.services import GunicornService


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="wharf-it-mirror-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _mirror(network, workdir: str, name: str, upstream_url: str, port: int) -> GunicornService:
    host = network["registry"]
    service = GunicornService(
        "wharf_registry.wsgi:app",
        {
            "REGISTRY_AUTH": "none",
            "REGISTRY_STORAGE": "filesystem",
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": os.path.join(workdir, name),
            "REGISTRY_PROXY_REMOTEURL": upstream_url,
            "REGISTRY_LOG_FORMAT": "text",
        },
        f"mirror {name}",
        host=host.address,
        port=host.port(port),
        prefix=host.prefix,
        extra_args=["--config", "python:wharf_registry.gunicorn_conf"],
    )
    return service.start(timeout=60)


def _pull_and_check(skopeo: Skopeo, address: str, image: Image, dest: str) -> None:
    skopeo.copy(f"docker://{address}/library/app:1", f"oci:{dest}:1", check=True)
    for digest, data in zip(image.layer_digests, image.layers, strict=True):
        path = os.path.join(dest, "blobs", "sha256", digest.split(":")[1])
        with open(path, "rb") as fh:
            assert fh.read() == data


def test_skopeo_pulls_through_a_mirror_and_from_its_cache(network, workdir, tmp_path):
    upstream_host = network["registry2"]
    upstream = DistributionRegistry(
        "upstream",
        host=upstream_host.address,
        port=upstream_host.port(5200),
        prefix=upstream_host.prefix,
    )
    upstream.start()
    services = []
    try:
        skopeo = Skopeo(network["client"], tempfile.mkdtemp(dir=workdir))
        image = Image.random(layers=3, label="mirrored")
        layout = image.write_layout(str(tmp_path / "src"), "1")
        skopeo.copy(layout, f"docker://{upstream.address}/library/app:1", check=True)

        mirror = _mirror(network, workdir, "b", upstream.url, 5300)
        services.append(mirror)
        chained = _mirror(network, workdir, "c", mirror.url, 5301)
        services.append(chained)
        address = f"{mirror.host}:{mirror.port}"
        _pull_and_check(skopeo, address, image, str(tmp_path / "first"))
        _pull_and_check(skopeo, f"{chained.host}:{chained.port}", image, str(tmp_path / "chain"))

        upstream.stop()
        _pull_and_check(skopeo, address, image, str(tmp_path / "cached"))
        _pull_and_check(skopeo, f"{chained.host}:{chained.port}", image, str(tmp_path / "c2"))
        refused = skopeo.copy(layout, f"docker://{address}/library/app:2")
        assert refused.returncode != 0
        assert "push to the upstream" in refused.stderr
    finally:
        for service in services:
            service.close()
        upstream.close()
