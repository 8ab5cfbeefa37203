"""Slow clients cannot starve the registry.

The registry runs as ``wharf-registry serve`` runs it (its gunicorn configuration, default
workers and threads). 100 connections misbehave at once: either each trickles its request
head one byte every half second and never ends it, or each sends a PATCH head for an open
upload and the first bytes of its body, then stalls. While they are held, health checks
and manifest GETs, each on a fresh connection, must each answer within 1 s. Over HTTPS the
same holds for connections that never begin or never finish their TLS handshake, and the
header timeout closes them all.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import requests
from registry_http import TIMEOUT, push_blob, start_upload
from wharf_protocol import mediatypes
from wharf_testing.misbehaving import slow_heads, stalled_bodies, stalled_tls, timed_get
from wharf_testing.tls import make_tls

COUNT = 100
BOUND = 1.0  # seconds, each request
REPO = "team/app"


def _push_manifest(base: str) -> str:
    config = b'{"architecture":"amd64","os":"linux"}'
    layer = b"a layer"
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": {
                "mediaType": mediatypes.OCI_CONFIG,
                "digest": push_blob(base, REPO, config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": mediatypes.OCI_LAYER_GZIP,
                    "size": len(layer),
                    "digest": push_blob(base, REPO, layer),
                }
            ],
        }
    ).encode()
    response = requests.put(
        f"{base}/v2/{REPO}/manifests/v1",
        data=manifest,
        timeout=TIMEOUT,
        headers={"Content-Type": mediatypes.OCI_MANIFEST},
    )
    assert response.status_code == 201, response.text
    return f"{base}/v2/{REPO}/manifests/v1"


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


def _assert_served_quickly(urls: list[str], rounds: int = 3, **kwargs) -> None:
    """GET each URL ``rounds`` times on fresh connections: 200 within BOUND each time."""
    timings = [(url, *timed_get(url, **kwargs)) for _ in range(rounds) for url in urls]
    slow = [
        (url, seconds, status)
        for url, seconds, status in timings
        if status != 200 or seconds >= BOUND
    ]
    assert not slow, f"not served within {BOUND} s (url, seconds, status): {slow}"


def test_trickled_heads_do_not_starve_health_checks_and_pulls(serve_registry):
    registry = serve_registry()
    urls = [f"{registry.url}/healthz", _push_manifest(registry.url)]
    _assert_served_quickly(urls)  # warm: both workers have served before the attack

    with slow_heads(_address(registry.url), COUNT) as held:
        _assert_served_quickly(urls)
        assert held.open_count() == COUNT  # the attack was still on


def test_stalled_upload_bodies_do_not_starve_health_checks_and_pulls(serve_registry):
    registry = serve_registry()
    urls = [f"{registry.url}/healthz", _push_manifest(registry.url)]
    targets = []
    for _ in range(COUNT):
        location = urlsplit(start_upload(registry.url, REPO))
        targets.append(("PATCH", location.path + (f"?{location.query}" if location.query else "")))
    _assert_served_quickly(urls)

    with stalled_bodies(
        _address(registry.url), targets, headers={"Content-Type": "application/octet-stream"}
    ) as held:
        _assert_served_quickly(urls)
        assert held.open_count() == COUNT


def test_stalled_tls_handshakes_and_heads_do_not_starve_and_time_out(serve_registry, tmp_path):
    tls = make_tls(tmp_path / "tls", sans=("127.0.0.1",))
    registry = serve_registry(tls=tls, REGISTRY_HTTP_HEADER_TIMEOUT="3")
    urls = [f"{registry.url}/healthz", f"{registry.url}/v2/"]
    _assert_served_quickly(urls, verify=tls.ca)

    silent, hello, heads = stalled_tls(_address(registry.url), COUNT, cafile=tls.ca)
    with silent, hello, heads:
        _assert_served_quickly(urls, verify=tls.ca)
        assert [c.open_count() for c in (silent, hello, heads)] == [COUNT] * 3
        time.sleep(3 + 2.5)  # the header timeout, and the once-a-second sweep
        assert [c.open_count() for c in (silent, hello, heads)] == [0, 0, 0]
