"""REGISTRY_ALLOWED_NETWORKS: clients outside the networks get 403 DENIED; the health checks
and /metrics stay open; behind REGISTRY_TRUSTED_PROXIES the forwarded client address counts."""

from __future__ import annotations

import ipaddress

import pytest
from wharf_registry.settings import Settings

NETWORKS = (ipaddress.ip_network("10.1.0.0/16"), ipaddress.ip_network("2001:db8::/32"))


def _client(make_client, driver, proxies: int = 0):
    settings = Settings(
        storage_driver="filesystem", allowed_networks=NETWORKS, trusted_proxies=proxies
    )
    return make_client(settings, driver=driver)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("10.1.2.3", True),
        ("2001:db8::7", True),
        ("::ffff:10.1.0.9", True),  # IPv4-mapped: the IPv4 address counts
        ("10.2.0.1", False),
        ("127.0.0.1", False),
        ("2001:db9::1", False),
    ],
)
def test_only_clients_in_the_networks_are_served(make_client, driver, address, allowed):
    client = _client(make_client, driver)
    response = client.get("/v2/", environ_base={"REMOTE_ADDR": address})
    if allowed:
        assert response.status_code == 200
        return
    assert response.status_code == 403
    [error] = response.get_json()["errors"]
    assert error["code"] == "DENIED"
    assert error["message"] == f"requests from {address} are not allowed on this registry"
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    # nothing else is answered either: a pull of a name, the catalog, search
    for path in ("/v2/team/app/manifests/v1", "/v2/_catalog", "/v1/search?q=x"):
        refused = client.get(path, environ_base={"REMOTE_ADDR": address})
        assert refused.status_code == 403, path


def test_health_checks_and_metrics_are_not_refused(make_client, driver):
    client = _client(make_client, driver)
    outside = {"REMOTE_ADDR": "192.0.2.1"}
    assert client.get("/healthz", environ_base=outside).status_code == 200
    assert client.get("/metrics", environ_base=outside).status_code == 200
    assert client.get("/readyz", environ_base=outside).status_code in (200, 503)


def test_the_forwarded_address_counts_only_behind_trusted_proxies(make_client, driver):
    inside, outside = {"X-Forwarded-For": "10.1.0.5"}, {"X-Forwarded-For": "192.0.2.1"}
    proxy = {"REMOTE_ADDR": "10.1.9.9"}  # the proxy itself is in the networks
    direct = _client(make_client, driver)
    # without trusted proxies the header is the client's word: the peer counts
    assert direct.get("/v2/", headers=outside, environ_base=proxy).status_code == 200
    peer = {"REMOTE_ADDR": "192.0.2.7"}
    assert direct.get("/v2/", headers=inside, environ_base=peer).status_code == 403
    behind = _client(make_client, driver, proxies=1)
    assert behind.get("/v2/", headers=inside, environ_base=peer).status_code == 200
    refused = behind.get("/v2/", headers=outside, environ_base=proxy)
    assert refused.status_code == 403
    assert "192.0.2.1" in refused.get_json()["errors"][0]["message"]
    # one proxy: only the last address it appended counts, not one the client sent before
    spoofed = {"X-Forwarded-For": "10.1.0.5, 192.0.2.1"}
    assert behind.get("/v2/", headers=spoofed, environ_base=proxy).status_code == 403


def test_without_the_setting_every_address_is_served(make_client, driver):
    client = make_client(Settings(storage_driver="filesystem"), driver=driver)
    assert client.get("/v2/", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 200
