"""The pull-through cache over the app, against real upstreams.

The upstream is Debian's ``docker-registry`` (CNCF Distribution 2.8) as a real process,
without auth or with htpasswd (Basic), reached through a counting reverse proxy so that
every fetch is seen; the mirror is the app under Flask's test client over each storage
driver (inmemory, filesystem, moto S3) where storage matters.
"""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
from conftest import PASSWORD, USER
from upstreams import sha
from werkzeug.test import EnvironBuilder
from wharf_protocol.digests import Digest
from wharf_registry.content import paths
from wharf_registry.content.blobs import BlobStore
from wharf_registry.proxy import fetch
from wharf_registry.proxy_config import Upstream
from wharf_registry.storage import PathNotFound
from wharf_testing.processes import wait_until

LAYERS = [os.urandom(300_000), os.urandom(2_500_000)]


def pull(client, name: str, ref: str) -> tuple[str, dict, dict[str, bytes]]:
    """GET the manifest and every blob it names: (digest, manifest, {digest: bytes})."""
    r = client.get(f"/v2/{name}/manifests/{ref}")
    assert r.status_code == 200, r.get_data(as_text=True)
    manifest = json.loads(r.data)
    blobs = {}
    for d in [manifest["config"], *manifest["layers"]]:
        b = client.get(f"/v2/{name}/blobs/{d['digest']}")
        assert b.status_code == 200, b.get_data(as_text=True)
        assert sha(b.data) == d["digest"]
        blobs[d["digest"]] = b.data
    return r.headers["Docker-Content-Digest"], manifest, blobs


def test_miss_then_hit_served_with_the_upstream_stopped(
    any_driver, distribution, counting, mirror, sink
):
    upstream, pusher = distribution()
    digest, _ = pusher.push_image("library/app", "v1", LAYERS)
    proxy = counting(upstream.url)
    client = mirror(any_driver, Upstream("library/", proxy.url, ttl=3600))

    got, manifest, blobs = pull(client, "library/app", "v1")
    assert got == digest
    assert sorted(blobs.values(), key=len)[-2:] == sorted(LAYERS, key=len)
    for d in blobs:
        assert proxy.count("GET", f"/v2/library/app/blobs/{d}") == 1

    upstream.stop()
    again, _, blobs_again = pull(client, "library/app", "v1")  # from storage alone
    assert (again, blobs_again) == (digest, blobs)
    by_digest = client.get(f"/v2/library/app/manifests/{digest}")
    assert by_digest.status_code == 200 and "Warning" not in by_digest.headers
    assert client.get("/v2/library/app/manifests/v1").headers.get("Warning") is None
    # the same pull events as any pull; cached content is no push (see the docs)
    pulls = [a for a in sink.actions() if a[0] == "pull"]
    assert pulls == [("pull", "library/app", ref) for ref in ("v1", "v1", digest, "v1")]
    assert not [a for a in sink.actions() if a[0] == "push"]


def test_a_one_part_name_is_library(fs_driver, distribution, counting, mirror):
    upstream, pusher = distribution()
    digest, _ = pusher.push_image("library/app", "v1", LAYERS[:1])
    client = mirror(fs_driver, Upstream("", upstream.url))
    got, _, _ = pull(client, "app", "v1")
    assert got == digest


def test_ttl_recheck_new_digest_and_stale_copy_when_down(fs_driver, distribution, counting, mirror):
    upstream, pusher = distribution()
    first, _ = pusher.push_image("library/app", "latest", LAYERS[:1])
    proxy = counting(upstream.url)
    client = mirror(fs_driver, Upstream("library/", proxy.url, ttl=0))  # always re-check
    assert pull(client, "library/app", "latest")[0] == first
    assert proxy.count("GET", "/v2/library/app/manifests/latest") == 1

    assert pull(client, "library/app", "latest")[0] == first  # unchanged: a HEAD, no GET
    assert proxy.count("HEAD", "/v2/library/app/manifests/latest") == 1
    assert proxy.count("GET", "/v2/library/app/manifests/latest") == 1

    second, _ = pusher.push_image("library/app", "latest", [b"a new layer"])
    assert pull(client, "library/app", "latest")[0] == second
    assert proxy.count("GET", "/v2/library/app/manifests/latest") == 2

    upstream.stop()
    stale = client.get("/v2/library/app/manifests/latest")
    assert stale.status_code == 200
    assert stale.headers["Docker-Content-Digest"] == second
    assert stale.headers["Warning"] == '110 - "Response is stale"'
    tags = client.get("/v2/library/app/tags/list")
    assert tags.get_json()["tags"] == ["latest"]
    assert tags.headers["Warning"] == '110 - "Response is stale"'
    never = client.get("/v2/library/app/manifests/other")
    assert never.status_code == 503
    assert "unavailable" in never.get_json()["errors"][0]["message"]


def test_tag_gone_upstream_is_404_and_tags_are_the_upstreams(
    fs_driver, distribution, counting, mirror
):
    upstream, pusher = distribution()
    pusher.push_image("library/app", "v1", LAYERS[:1])
    pusher.push_image("library/app", "v2", LAYERS[:1])
    client = mirror(fs_driver, Upstream("library/", upstream.url, ttl=0))
    assert client.get("/v2/library/app/tags/list").get_json() == {
        "name": "library/app",
        "tags": ["v1", "v2"],
    }
    page = client.get("/v2/library/app/tags/list?n=1")
    assert page.get_json()["tags"] == ["v1"] and 'rel="next"' in page.headers["Link"]
    assert client.get("/v2/library/app/manifests/nope").status_code == 404
    assert client.get("/v2/library/nothing/tags/list").status_code == 404
    blob = client.head(f"/v2/library/app/blobs/{sha(LAYERS[0])}")  # HEAD: asked, not fetched
    assert blob.status_code == 200 and blob.headers["Content-Length"] == str(len(LAYERS[0]))
    assert client.head(f"/v2/library/app/blobs/{sha(b'none')}").status_code == 404


def test_pushes_and_deletes_are_refused_naming_the_upstream(fs_driver, mirror, oci):
    client = mirror(fs_driver, Upstream("acme/", "http://127.0.0.1:9"))
    expected = "this registry mirrors acme/ from http://127.0.0.1:9: push to the upstream"
    for method, path in [
        ("post", "/v2/acme/app/blobs/uploads/"),
        ("put", "/v2/acme/app/manifests/v1"),
        ("delete", "/v2/acme/app/manifests/v1"),
        ("delete", f"/v2/acme/app/blobs/{sha(b'x')}"),
        ("delete", "/v2/_wharf/repositories/acme/app"),
    ]:
        r = getattr(client, method)(path, data=b"{}")
        assert r.status_code == 405, (method, path)
        error = r.get_json()["errors"][0]
        assert error["code"] == "UNSUPPORTED"
        assert error["message"].startswith(expected)
    other = type(oci)(client)  # a namespace no upstream mirrors takes pushes as always
    other.push_image("other/app", "v1")


def test_upstreams_by_prefix(fs_driver, distribution, counting, mirror):
    hub, hub_pusher = distribution("hub")
    acme, acme_pusher = distribution("acme")
    hub_digest, _ = hub_pusher.push_image("library/app", "v1", [b"hub layer"])
    acme_digest, _ = acme_pusher.push_image("acme/app", "v1", [b"acme layer"])
    hub_proxy, acme_proxy = counting(hub.url), counting(acme.url)
    client = mirror(
        fs_driver, Upstream("library/", hub_proxy.url), Upstream("acme/", acme_proxy.url)
    )
    assert pull(client, "library/app", "v1")[0] == hub_digest
    assert pull(client, "acme/app", "v1")[0] == acme_digest
    assert not [k for k in hub_proxy.counts if "acme" in k]
    assert not [k for k in acme_proxy.counts if "library" in k]
    assert client.get("/v2/other/app/manifests/v1").status_code == 404  # not mirrored


def test_basic_auth_upstream(fs_driver, distribution, mirror):
    upstream, pusher = distribution(htpasswd=True)
    digest, _ = pusher.push_image("library/app", "v1", LAYERS[:1])
    client = mirror(fs_driver, Upstream("", upstream.url, USER, PASSWORD))
    assert pull(client, "library/app", "v1")[0] == digest

    wrong = mirror(fs_driver, Upstream("", upstream.url, USER, "wrong"))
    r = wrong.get("/v2/library/other/manifests/v1")
    assert r.status_code == 503
    assert PASSWORD not in r.get_data(as_text=True)


def test_concurrent_misses_fetch_once(any_driver, distribution, counting, mirror):
    upstream, pusher = distribution()
    layer = os.urandom(6 << 20)
    pusher.push_image("library/app", "v1", [layer])
    proxy = counting(upstream.url)
    client = mirror(any_driver, Upstream("library/", proxy.url))
    app = client.application
    results, errors = [], []

    def get() -> None:
        try:
            r = app.test_client().get(f"/v2/library/app/blobs/{sha(layer)}")
            results.append((r.status_code, sha(r.data)))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=get) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert results == [(200, sha(layer))] * 10
    assert proxy.count("GET", f"/v2/library/app/blobs/{sha(layer)}") == 1
    with pytest.raises(PathNotFound):  # the lease is gone with the fetch
        any_driver.list(paths.fetch_leases(Digest.parse(sha(layer))))


def test_wrong_bytes_commit_nothing(any_driver, fake_upstream, mirror):
    good = os.urandom(200_000)
    digest = sha(good)
    bad_manifest = b'{"schemaVersion": 2}'
    claimed = sha(b"another manifest")
    upstream = fake_upstream(
        {
            "/v2/": (200, {}, b"{}"),
            f"/v2/library/app/blobs/{digest}": (200, {}, good[:-1] + b"!"),
            f"/v2/library/app/manifests/{claimed}": (200, {}, bad_manifest),
        }
    )
    client = mirror(any_driver, Upstream("library/", upstream.url))
    for _ in range(2):
        with pytest.raises(Exception, match="failed verification"):
            client.get(f"/v2/library/app/blobs/{digest}")
    assert upstream.counts[f"GET /v2/library/app/blobs/{digest}"] == 2
    d = Digest.parse(digest)
    for path in (paths.blob_data(d), paths.layer_link("library/app", d)):
        with pytest.raises(PathNotFound):
            any_driver.stat(path)
    with pytest.raises(PathNotFound):
        any_driver.list(paths.fetch_leases(d))
    r = client.get(f"/v2/library/app/manifests/{claimed}")
    assert r.status_code == 503 and "digest mismatch" in r.get_json()["errors"][0]["message"]
    with pytest.raises(PathNotFound):
        any_driver.stat(paths.blob_data(Digest.parse(sha(bad_manifest))))


def test_a_pull_right_after_a_fetch_waits_for_its_link(
    fs_driver, distribution, counting, mirror, monkeypatch
):
    """The fetch commits and links after its client has the last byte: a request arriving
    between the commit and the link waits for the fetch's link instead of asking the
    upstream to confirm (which, stopped here, would fail the pull)."""
    upstream, pusher = distribution()
    digest, _ = pusher.push_image("library/app", "v1", LAYERS)
    proxy = counting(upstream.url)
    client = mirror(fs_driver, Upstream("library/", proxy.url, ttl=3600))
    linking = threading.Event()
    link = BlobStore.link

    def slow_link(self, name, blob):
        linking.set()
        time.sleep(0.5)  # a slow storage write: the window the next request falls into
        link(self, name, blob)

    monkeypatch.setattr(BlobStore, "link", slow_link)
    layer = sha(LAYERS[1])
    first = client.get(f"/v2/library/app/blobs/{layer}")
    assert first.status_code == 200 and sha(first.data) == layer
    assert linking.wait(10)  # committed, not linked yet
    upstream.stop()
    again = client.get(f"/v2/library/app/blobs/{layer}")
    assert again.status_code == 200, again.get_data(as_text=True)
    assert sha(again.data) == layer
    assert proxy.count("GET", f"/v2/library/app/blobs/{layer}") == 1
    assert proxy.count("HEAD", f"/v2/library/app/blobs/{layer}") == 0


def test_a_client_leaving_cancels_its_fetch_past_the_unattended_limit(
    fs_driver, fake_upstream, mirror, monkeypatch
):
    """Fetches go on without their clients only up to a limit per process (clients that
    start fetches and hang up cannot pile them up); past it, leaving cancels the fetch:
    nothing committed, the lease released, the next request fetches anew."""
    layer = os.urandom(8 << 20)  # 128 pieces of 64 KiB: the client leaves after 2 MiB
    digest = sha(layer)
    url = f"/v2/library/app/blobs/{digest}"
    upstream = fake_upstream({"/v2/": (200, {}, b"{}"), url: (200, {}, layer)}, drip=0.01)
    client = mirror(fs_driver, Upstream("library/", upstream.url))
    monkeypatch.setattr(fetch, "MAX_UNATTENDED", 0)
    d = Digest.parse(digest)

    # the WSGI app driven by hand: the test client would read the whole body
    statuses = []
    body = client.application(
        EnvironBuilder(path=url).get_environ(), lambda status, headers: statuses.append(status)
    )
    assert len(next(iter(body))) > 0 and statuses == ["200 OK"]  # under way
    body.close()  # the client leaves

    def lease_gone() -> bool:
        try:
            fs_driver.list(paths.fetch_leases(d))
        except PathNotFound:
            return True
        return False

    assert wait_until(lease_gone, 30)
    with pytest.raises(PathNotFound):
        fs_driver.stat(paths.blob_data(d))
    assert fetch.UNATTENDED.count == 0
    upstream.drip = 0.0
    again = client.get(url)
    assert again.status_code == 200 and sha(again.data) == digest
    assert upstream.counts[f"GET {url}"] == 2


def test_an_upstream_rate_limit_reaches_the_client_unless_a_copy_is_cached(
    fs_driver, fake_upstream, mirror
):
    """Docker Hub's pull limits: an upstream's 429 is the client's 429 TOOMANYREQUESTS with
    the upstream's Retry-After; a tag cached here is served stale instead."""
    config = b'{"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}'
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha(config),
                "size": len(config),
            },
            "layers": [],
        }
    ).encode()
    oci = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
    limited = (429, {"Retry-After": "17"}, b'{"errors": [{"code": "TOOMANYREQUESTS"}]}')
    upstream = fake_upstream(
        {
            "/v2/": (200, {}, b"{}"),
            "/v2/library/app/manifests/v1": (200, oci, manifest),
            "/v2/library/app/manifests/v2": limited,
        }
    )
    client = mirror(fs_driver, Upstream("library/", upstream.url, ttl=0))

    refused = client.get("/v2/library/app/manifests/v2")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "17"
    error = refused.get_json()["errors"][0]
    assert error["code"] == "TOOMANYREQUESTS" and "429" in error["message"]

    cached = client.get("/v2/library/app/manifests/v1")
    assert cached.status_code == 200 and cached.data == manifest
    upstream.routes["/v2/library/app/manifests/v1"] = limited
    stale = client.get("/v2/library/app/manifests/v1")  # ttl 0: asks, is refused, has a copy
    assert stale.status_code == 200 and stale.data == manifest
    assert stale.headers["Warning"] == '110 - "Response is stale"'
