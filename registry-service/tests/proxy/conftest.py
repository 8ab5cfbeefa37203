"""Fixtures of the pull-through cache tests: real upstreams (the reference registry, CNCF
Distribution's ``docker-registry``; Wharf's registry), a counting reverse proxy, and a
mirror app built over any storage driver."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest
from upstreams import CountingProxy, FakeUpstream, Pusher, SilentRelay
from wharf_registry.proxy import Mirror
from wharf_registry.proxy_config import Upstream
from wharf_registry.settings import Settings
from wharf_testing.distribution import DistributionRegistry

USER, PASSWORD = "mirror", "mirror password"


@pytest.fixture
def distribution(tmp_path):
    """Factory ``(name, htpasswd=False) -> (DistributionRegistry, Pusher)``, started; the
    pusher signs in with (USER, PASSWORD) when ``htpasswd``."""
    started = []

    def start(name: str = "upstream", htpasswd: bool = False):
        path = None
        if htpasswd:
            path = str(tmp_path / f"{name}.htpasswd")
            subprocess.run(
                ["htpasswd", "-Bbc", path, USER, PASSWORD], check=True, capture_output=True
            )
        registry = DistributionRegistry(name, htpasswd=path)
        started.append(registry)
        registry.start()
        return registry, Pusher(registry.url, (USER, PASSWORD) if htpasswd else None)

    yield start
    for registry in started:
        registry.close()


@pytest.fixture
def counting():
    """Factory ``(target URL) -> CountingProxy``, closed at teardown."""
    proxies = []

    def start(target: str) -> CountingProxy:
        proxies.append(CountingProxy(target))
        return proxies[-1]

    yield start
    for proxy in proxies:
        proxy.close()


@pytest.fixture
def fake_upstream():
    """Factory ``(routes) -> FakeUpstream``, closed at teardown."""
    servers = []

    def start(routes, drip: float = 0.0) -> FakeUpstream:
        servers.append(FakeUpstream(routes, drip))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def silent_relay():
    """Factory ``(target host:port) -> SilentRelay``, closed at teardown."""
    relays = []

    def start(target: str) -> SilentRelay:
        relays.append(SilentRelay(target))
        return relays[-1]

    yield start
    for relay in relays:
        relay.close()


@pytest.fixture
def mirror(make_client, sink):
    """Factory ``(driver, *upstreams, mirror_options=None) -> test client`` of a mirror of
    ``upstreams``; ``mirror_options`` (``timeout``, ``monotonic``) go to its Mirror."""

    def make(driver, *upstreams: Upstream, mirror_options=None, **settings):
        config = Settings(storage_driver="inmemory", proxy_upstreams=tuple(upstreams), **settings)
        client = make_client(config, driver=driver, sink=sink)
        if mirror_options:
            extensions = client.application.extensions
            services = extensions["registry"]
            own = Mirror(config, services.content, **mirror_options)
            extensions["registry"] = dataclasses.replace(services, mirror=own)
        return client

    return make
