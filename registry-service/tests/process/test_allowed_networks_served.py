"""REGISTRY_ALLOWED_NETWORKS on a real gunicorn registry: a connection from another loopback
address (127.0.0.2, bound as the client's source) is refused with 403 DENIED, one from an
allowed address is served; behind one trusted proxy the address it forwards counts."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit


def _get(url: str, path: str, source: str, headers: dict | None = None) -> tuple[int, dict]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=10, source_address=(source, 0)
    )
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return response.status, json.loads(body) if body.startswith(b"{") else {}
    finally:
        connection.close()


def test_a_client_outside_the_allowed_networks_is_refused(serve_registry):
    registry = serve_registry(REGISTRY_ALLOWED_NETWORKS="127.0.0.1/32")
    assert _get(registry.url, "/v2/", "127.0.0.1")[0] == 200
    status, body = _get(registry.url, "/v2/", "127.0.0.2")
    assert status == 403
    assert body["errors"][0]["code"] == "DENIED"
    assert (
        body["errors"][0]["message"] == "requests from 127.0.0.2 are not allowed on this registry"
    )
    assert _get(registry.url, "/healthz", "127.0.0.2")[0] == 200


def test_behind_a_trusted_proxy_the_forwarded_address_counts(serve_registry):
    registry = serve_registry(
        REGISTRY_ALLOWED_NETWORKS="192.0.2.0/24", REGISTRY_TRUSTED_PROXIES="1"
    )
    inside, outside = {"X-Forwarded-For": "192.0.2.9"}, {"X-Forwarded-For": "198.51.100.1"}
    assert _get(registry.url, "/v2/", "127.0.0.1", inside)[0] == 200
    assert _get(registry.url, "/v2/", "127.0.0.1", outside)[0] == 403
    assert _get(registry.url, "/v2/", "127.0.0.1")[0] == 403  # the proxy itself is not allowed
