"""The registry behind a TLS-terminating proxy (deploy/proxy/): URLs it hands out are https.

The registry does not build URLs from ``X-Forwarded-Proto``/``X-Forwarded-Host``: its
``Location`` and ``Link`` headers are relative paths, which a client resolves against the
https URL it used, or absolute on REGISTRY_HTTP_HOST when that is set; its Bearer
challenge names REGISTRY_AUTH_TOKEN_REALM. Here gunicorn serves it as ``wharf-registry
serve`` does, and requests carry what nginx/Caddy add in front (a plain-HTTP hop).
"""

from __future__ import annotations

from urllib.parse import urljoin

import requests

PROXY_HEADERS = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "registry.example.com",
    "X-Forwarded-For": "203.0.113.7",
}
PUBLIC = "https://registry.example.com"


def _upload_location(base: str) -> str:
    """The Location of an upload started through the proxy (only ever sent to ``base``)."""
    started = requests.post(f"{base}/v2/team/app/blobs/uploads/", headers=PROXY_HEADERS, timeout=10)
    assert started.status_code == 202, started.text
    return started.headers["Location"]


def test_locations_resolve_to_https_behind_a_forwarding_proxy(serve_registry):
    registry = serve_registry()
    location = _upload_location(registry.url)
    assert location.startswith("/v2/team/app/blobs/uploads/")  # never http://
    assert urljoin(PUBLIC + "/v2/", location).startswith(f"{PUBLIC}/v2/team/app/blobs/uploads/")


def test_locations_are_absolute_https_with_the_public_host(serve_registry):
    registry = serve_registry(REGISTRY_HTTP_HOST=PUBLIC)
    location = _upload_location(registry.url)
    assert location.startswith(f"{PUBLIC}/v2/team/app/blobs/uploads/")
