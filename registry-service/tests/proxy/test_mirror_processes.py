"""The pull-through cache as real gunicorn processes: two mirrors sharing one storage fetch a
blob once, a client of a blob failing verification gets a broken connection, and a Wharf
registry in token mode (Bearer, with a standalone token server) is an upstream."""

from __future__ import annotations

import json
import os
import threading

import pytest
import requests
from conftest import PASSWORD, USER
from upstreams import Pusher, sha
from wharf_testing.processes import wait_until
from wharf_testing.token_server import write_key

APP = "wharf_registry.wsgi:app"


def mirror_env(storage: dict[str, str], **proxy: str) -> dict[str, str]:
    return {"REGISTRY_AUTH": "none", "REGISTRY_LOG_LEVEL": "WARNING", **storage, **proxy}


@pytest.fixture(params=["filesystem", pytest.param("s3", marks=pytest.mark.s3)])
def shared_storage(request, tmp_path):
    if request.param == "filesystem":
        return {
            "REGISTRY_STORAGE": "filesystem",
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(tmp_path / "shared"),
        }
    server = request.getfixturevalue("s3_server")
    return {
        "REGISTRY_STORAGE": "s3",
        "REGISTRY_STORAGE_S3_BUCKET": request.getfixturevalue("s3_bucket"),
        "REGISTRY_STORAGE_S3_ENDPOINT_URL": server.endpoint_url,
        "REGISTRY_STORAGE_S3_REGION": server.region,
        "REGISTRY_STORAGE_S3_ACCESSKEY": "testing",
        "REGISTRY_STORAGE_S3_SECRETKEY": "testing",
    }


def test_two_mirrors_sharing_storage_fetch_a_blob_once(
    shared_storage, distribution, counting, service_factory
):
    upstream, pusher = distribution()
    layer = os.urandom(12 << 20)
    pusher.push_image("library/app", "v1", [layer])
    proxy = counting(upstream.url)
    env = mirror_env(shared_storage, REGISTRY_PROXY_REMOTEURL=proxy.url)
    mirrors = [service_factory(APP, env, f"mirror-{i}", workers=2, threads=8) for i in range(2)]
    results, errors = [], []

    def get(url: str) -> None:
        try:
            with requests.get(f"{url}/v2/library/app/blobs/{sha(layer)}", timeout=120) as r:
                results.append((r.status_code, sha(r.content)))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=get, args=(mirrors[i % 2].url,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert errors == []
    assert results == [(200, sha(layer))] * 10
    assert proxy.count("GET", f"/v2/library/app/blobs/{sha(layer)}") == 1


def test_a_blob_failing_verification_breaks_the_connection(
    tmp_path, fake_upstream, service_factory
):
    good = os.urandom(3 << 20)
    digest = sha(good)
    upstream = fake_upstream(
        {
            "/v2/": (200, {}, b"{}"),
            f"/v2/library/app/blobs/{digest}": (200, {}, good[:-1] + b"!"),
        }
    )
    storage = {
        "REGISTRY_STORAGE": "filesystem",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(tmp_path / "storage"),
    }
    mirror = service_factory(APP, mirror_env(storage, REGISTRY_PROXY_REMOTEURL=upstream.url), "m")
    received = bytearray()
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        url = f"{mirror.url}/v2/library/app/blobs/{digest}"
        with requests.get(url, stream=True, timeout=60) as r:
            assert r.status_code == 200
            for chunk in r.iter_content(1 << 16):
                received += chunk
    assert len(received) < len(good)
    # nothing committed, no temporary data and no fetch lease left behind
    assert not [p for p in (tmp_path / "storage").rglob("*") if p.is_file()]


def test_a_wharf_registry_in_token_mode_as_upstream(tmp_path, service_factory, counting):
    keydir = write_key(tmp_path / "keys")
    users = {USER: {"password": PASSWORD, "actions": ["pull", "push"]}}
    tokens = service_factory(
        "wharf_testing.token_server:create_app()",
        {
            "TOKEN_SERVER_KEYDIR": str(keydir),
            "TOKEN_SERVER_ISSUER": "upstream-issuer",
            "TOKEN_SERVER_KID": "libtrust",
            "TOKEN_SERVER_USERS": json.dumps(users),
        },
        "token-server",
    )
    realm = counting(tokens.url)
    root = tmp_path / "upstream"
    upstream = service_factory(
        APP,
        {
            "REGISTRY_STORAGE": "filesystem",
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root),
            "REGISTRY_AUTH": "token",
            "REGISTRY_AUTH_TOKEN_VERIFY": "local",
            "REGISTRY_AUTH_TOKEN_REALM": f"{realm.url}/token",
            "REGISTRY_AUTH_TOKEN_SERVICE": "upstream",
            "REGISTRY_AUTH_TOKEN_ISSUER": "upstream-issuer",
            "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE": str(keydir / "certs.pem"),
            "REGISTRY_LOG_LEVEL": "WARNING",
        },
        "upstream",
    )
    digest, manifest = Pusher(upstream.url, (USER, PASSWORD)).push_image(
        "acme/app", "v1", [os.urandom(100_000), os.urandom(200_000)]
    )
    pushing_tokens = realm.count("GET", "/token")
    storage = {
        "REGISTRY_STORAGE": "filesystem",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(tmp_path / "mirror"),
    }
    upstreams = [{"prefix": "acme/", "url": upstream.url, "username": USER, "password": PASSWORD}]
    env = mirror_env(storage, REGISTRY_PROXY_UPSTREAMS=json.dumps(upstreams))
    mirror = service_factory(APP, env, "mirror", workers=1)
    got = requests.get(f"{mirror.url}/v2/acme/app/manifests/v1", timeout=30)
    assert got.status_code == 200 and got.headers["Docker-Content-Digest"] == digest
    for d in [
        m["digest"] for m in [json.loads(manifest)["config"], *json.loads(manifest)["layers"]]
    ]:
        blob = requests.get(f"{mirror.url}/v2/acme/app/blobs/{d}", timeout=30)
        assert blob.status_code == 200 and sha(blob.content) == d
    assert realm.count("GET", "/token") == pushing_tokens + 1  # one token, cached
    assert PASSWORD not in mirror.log()


def test_a_dead_fetcher_is_taken_over(tmp_path, fake_upstream, service_factory):
    """A mirror killed (-9) mid-fetch leaves its lease behind: a second mirror on the same
    storage waits for the lease to stop beating, then fetches the blob itself."""
    layer = os.urandom(4 << 20)
    digest = sha(layer)
    upstream = fake_upstream({f"/v2/library/app/blobs/{digest}": (200, {}, layer)}, drip=0.05)
    storage = {
        "REGISTRY_STORAGE": "filesystem",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(tmp_path / "shared"),
    }
    env = mirror_env(storage, REGISTRY_PROXY_REMOTEURL=upstream.url)
    first = service_factory(APP, env, "fetcher")
    second = service_factory(APP, env, "taker")
    url = f"/v2/library/app/blobs/{digest}"
    with requests.get(first.url + url, stream=True, timeout=60) as r:
        assert r.status_code == 200
        assert r.raw.read(1 << 16)  # the fetch is under way
        leases = tmp_path / "shared" / "wharf" / "proxy" / "fetches"
        assert [p.name for p in leases.rglob("*") if p.is_file()] == ["000000"]
        first.kill()
    upstream.drip = 0.0
    taken = requests.get(second.url + url, timeout=120)
    assert taken.status_code == 200 and sha(taken.content) == digest
    assert upstream.counts[f"GET {url}"] == 2
    # the commit and the release follow the last byte sent: wait for them (bounded)
    assert wait_until(lambda: not [p for p in leases.rglob("*") if p.is_file()], 10)


def test_a_client_leaving_mid_fetch_leaves_the_blob_cached(
    tmp_path, fake_upstream, service_factory
):
    """The fetch outlives its client: the blob is committed and linked, and the next pull
    is served from storage with the upstream fetched once."""
    layer = os.urandom(4 << 20)
    digest = sha(layer)
    upstream = fake_upstream(
        {
            "/v2/": (200, {}, b"{}"),
            f"/v2/library/app/blobs/{digest}": (200, {}, layer),
        },
        drip=0.02,
    )
    root = tmp_path / "storage"
    storage = {
        "REGISTRY_STORAGE": "filesystem",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root),
    }
    mirror = service_factory(APP, mirror_env(storage, REGISTRY_PROXY_REMOTEURL=upstream.url), "m")
    url = f"/v2/library/app/blobs/{digest}"
    with requests.get(mirror.url + url, stream=True, timeout=60) as r:
        assert r.status_code == 200
        assert r.raw.read(1 << 16)  # under way; the client leaves here
    hexdigest = digest.split(":")[1]
    data = root / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"
    link = root / "docker/registry/v2/repositories/library/app/_layers/sha256" / hexdigest / "link"
    assert wait_until(lambda: data.exists() and link.exists(), 60)
    assert data.read_bytes() == layer
    again = requests.get(mirror.url + url, timeout=60)
    assert again.status_code == 200 and sha(again.content) == digest
    assert upstream.counts[f"GET {url}"] == 1
