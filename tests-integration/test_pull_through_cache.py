"""The pull-through cache with real processes on their own hosts (network namespaces).

The upstream is a stock ``docker-registry`` (CNCF Distribution) on ``registry2``; Wharf
registries on ``registry`` mirror it (``REGISTRY_PROXY_REMOTEURL``). skopeo on ``client``
pushes an image to the upstream, pulls it through the mirror, then, with the upstream
stopped, pulls it again from the mirror's cache. A chain of three (C mirrors B mirrors the
upstream A) serves an image none of them but A held. Ten clients asking a mirror (two
workers, as by default) at once for a 256 MiB layer it does not hold all get it, while the
upstream serves it once.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest
from mirrors import requests_logged, start_mirror, start_upstream
from oci_client import Image, write_big_layout
from skopeo import Skopeo


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="wharf-it-mirror-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _pull_and_check(skopeo: Skopeo, address: str, image: Image, dest: str) -> None:
    skopeo.copy(f"docker://{address}/library/app:1", f"oci:{dest}:1", check=True)
    for digest, data in zip(image.layer_digests, image.layers, strict=True):
        path = os.path.join(dest, "blobs", "sha256", digest.split(":")[1])
        with open(path, "rb") as fh:
            assert fh.read() == data


def test_skopeo_pulls_through_a_mirror_and_from_its_cache(network, workdir, tmp_path):
    upstream = start_upstream(network, "upstream", 5200)
    services = []
    try:
        skopeo = Skopeo(network["client"], tempfile.mkdtemp(dir=workdir))
        image = Image.random(layers=3, label="mirrored")
        layout = image.write_layout(str(tmp_path / "src"), "1")
        skopeo.copy(layout, f"docker://{upstream.address}/library/app:1", check=True)

        mirror = start_mirror(network, workdir, "b", upstream.url, 5300)
        services.append(mirror)
        chained = start_mirror(network, workdir, "c", mirror.url, 5301)
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


BIG = 256 << 20
CLIENTS = 10
# Run on the client host: GET the URL from COUNT threads at once, each hashing the body as
# it streams in; print "STATUS DIGEST" (or "error ...") per client.
_FETCH = r"""
import hashlib, sys, threading, urllib.request
url, count = sys.argv[1], int(sys.argv[2])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
results = []
def get():
    try:
        with opener.open(url, timeout=300) as response:
            digest = hashlib.sha256()
            while chunk := response.read(1 << 20):
                digest.update(chunk)
            results.append(f"{response.status} sha256:{digest.hexdigest()}")
    except Exception as exc:
        results.append(f"error {exc!r}")
threads = [threading.Thread(target=get) for _ in range(count)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(600)
print("\n".join(results))
"""


def test_concurrent_pulls_of_a_big_uncached_layer_fetch_it_upstream_once(network, workdir):
    upstream = start_upstream(network, "upstream-big", 5201)
    mirror = None
    try:
        skopeo = Skopeo(network["client"], tempfile.mkdtemp(dir=workdir))
        layout, digest = write_big_layout(os.path.join(workdir, "big"), BIG, "1")
        skopeo.copy(layout, f"docker://{upstream.address}/library/big:1", check=True)
        shutil.rmtree(os.path.join(workdir, "big"))

        mirror = start_mirror(network, workdir, "big", upstream.url, 5302, workers=2)
        url = f"{mirror.url}/v2/library/big/blobs/{digest}"
        fetched = network["client"].run(
            [sys.executable, "-c", _FETCH, url, str(CLIENTS)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert fetched.returncode == 0, fetched.stderr
        assert fetched.stdout.splitlines() == [f"200 {digest}"] * CLIENTS, fetched.stdout
        # Distribution logs each request it answered (its access log)
        served = requests_logged(upstream.log(), "GET", f"/v2/library/big/blobs/{digest}")
        assert len(served) == 1, upstream.log()[-3000:]
    finally:
        if mirror is not None:
            mirror.close()
        upstream.close()
