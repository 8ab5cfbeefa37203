"""Fixtures of the integration tests: hosts, PostgreSQL on the db host, Wharf stacks, a
Docker engine on the client host.

Run inside the sandbox (``./sandbox python -m pytest``): each host is then a network
namespace; elsewhere everything is on 127.0.0.1 (see wharf_testing.hosts). The session has
one PostgreSQL and, once a test asks for it, one Docker engine (users get their own
:class:`docker_cli.DockerCli`); each test module builds its own :class:`stack.Stack` (a
fresh database, the Index, registries) through a module-scoped fixture calling
:func:`make_stack`. When a test fails, the tail of every service log of its stack (and of
the engine's, if it used one) is attached to the report.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from docker_cli import DockerCli
from stack import Stack, Worker
from wharf_testing.dockerd import DockerDaemon, DockerError
from wharf_testing.hosts import Network, namespaces_available
from wharf_testing.postgres import PostgresServer
from wharf_testing.services import GunicornService

HOSTS = ("db", "index", "registry", "registry2", "client")
LOG_TAIL_LINES = 150


@pytest.fixture(scope="session")
def network() -> Iterator[Network]:
    net = Network(HOSTS)
    try:
        yield net
    finally:
        net.close()


@pytest.fixture(scope="session")
def postgres(network: Network) -> Iterator[PostgresServer]:
    """The session's PostgreSQL on the db host (overrides the plugin's loopback one)."""
    db = network["db"]
    server = PostgresServer(host=db.address, port=db.port(5432), prefix=db.prefix)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def make_stack(network, postgres):
    """Factory ``(index_env=...) -> Stack`` (not bootstrapped); all closed at session end."""
    stacks: list[Stack] = []

    def make(**kw) -> Stack:
        stack = Stack(network, postgres, **kw)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.close()


@pytest.fixture(scope="session")
def dockerd(network: Network) -> Iterator[DockerDaemon]:
    """The session's Docker engine, on the client host, allowed plain HTTP to every host
    (stopped, and its state deleted, at the end). It not starting is a failure."""
    failure = None
    try:
        daemon = DockerDaemon(
            prefix=network["client"].net_prefix, insecure_registries=[network.cidr]
        )
        daemon.start(timeout=90)
    except DockerError as exc:
        failure = str(exc)
    if failure is not None:
        pytest.fail(f"the Docker engine is needed and did not start: {failure}", pytrace=False)
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="session")
def make_docker(dockerd, network):
    """Factory ``(label) -> DockerCli``: a docker client with a config (credentials) of its
    own; their directories are deleted at the end of the session."""
    base = tempfile.mkdtemp(prefix="wharf-docker-clients-")

    def make(label: str = "docker") -> DockerCli:
        return DockerCli(dockerd, network["client"], tempfile.mkdtemp(prefix=label, dir=base))

    yield make
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def token_stack(make_stack) -> Iterator[Stack]:
    """The Index (users sysop, an administrator, alice and bob) and registry ``reg1`` in
    token mode serving alice and bob, on their own hosts."""
    stack = make_stack().bootstrap()
    stack.add_registry("reg1", "registry", ["alice", "bob"])
    yield stack
    stack.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attach the tail of each service log of the failed test's stacks to its report."""
    report = yield
    if report.failed:
        for service in _services(getattr(item, "funcargs", {}).values()):
            lines = service.log().splitlines()[-LOG_TAIL_LINES:]
            report.sections.append((f"wharf {service.name} log (tail)", "\n".join(lines)))
    return report


def _services(values) -> list[GunicornService | DockerDaemon | Worker]:
    found: list[GunicornService | DockerDaemon | Worker] = []
    for value in values:
        if isinstance(value, Stack):
            found += value.services()
        elif isinstance(value, GunicornService | DockerDaemon | Worker):
            found.append(value)
        elif isinstance(value, DockerCli):
            found.append(value.daemon)
        elif isinstance(value, tuple | dict):
            found += _services(value.values() if isinstance(value, dict) else value)
    return list(dict.fromkeys(found))


def pytest_report_header(config) -> str:
    isolated = namespaces_available()
    mode = "network namespaces (sandbox)" if isolated else "loopback (no sandbox)"
    return f"wharf hosts: {mode}; WHARF_SANDBOX={os.environ.get('WHARF_SANDBOX', '')}"
