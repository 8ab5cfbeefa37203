"""Separate "hosts" for integration tests: network namespaces inside a sandbox, or loopback.

Inside the sandbox (``tests-integration/sandbox``: a private network namespace made by
``unshare --net``, with a private ``/run/netns``), :class:`Network` creates one network
namespace per host, each joined by a veth pair to a bridge in the sandbox's own namespace
(where pytest runs), with addresses in :data:`SUBNET`. Services bind to their host's address
and are started under :attr:`Host.prefix` (``ip netns exec NAME``); pytest reaches every
host through the bridge. Nothing is routed out of the sandbox, so no packet leaves it.

Namespaces are created only when all of these hold: ``WHARF_SANDBOX=1`` (set by the sandbox
script), we are root, ``ip`` exists, and the current network namespace has no interface but
``lo`` (proof that this is the sandbox's fresh namespace, not the machine's). Otherwise every
host is 127.0.0.1 with an empty prefix, and services take free ports: the same tests run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

from .ports import free_port

SANDBOX_ENV = "WHARF_SANDBOX"
SUBNET = "10.231.7"  # a /24 of the private range; .1 is the bridge (pytest's side)
BRIDGE = "wharfbr0"
LOOPBACK = "127.0.0.1"
NETNS_DIR = "/run/netns"  # where ``ip netns add`` puts the namespaces' handles


class HostsError(RuntimeError):
    """Creating the namespaces failed; the message carries the failing command's output."""


@dataclass(frozen=True)
class Host:
    """One host: its ``name``, the ``address`` services bind to and clients use, and the
    ``prefix`` that runs a command on it (``[]`` on loopback)."""

    name: str
    address: str
    prefix: tuple[str, ...] = field(default=())

    @property
    def isolated(self) -> bool:
        """True when the host is a network namespace of its own."""
        return bool(self.prefix)

    def port(self, default: int) -> int:
        """``default`` on a namespace host (a port space of its own), else a free port."""
        return default if self.isolated else free_port(self.address)

    @property
    def net_prefix(self) -> tuple[str, ...]:
        """A prefix that enters only this host's network namespace (``nsenter --net``),
        where ``prefix`` (``ip netns exec``) also mounts a sysfs of its own, hiding the
        cgroup filesystems below ``/sys`` (which dockerd needs); ``()`` on loopback."""
        if not self.isolated:
            return ()
        return (shutil.which("nsenter") or "nsenter", f"--net={NETNS_DIR}/{self.name}", "--")

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run on this host."""
        return [*self.prefix, *argv]

    def run(self, argv: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
        """``subprocess.run`` of ``argv`` on this host (keyword arguments passed on)."""
        return subprocess.run(self.command(argv), check=False, **kwargs)  # noqa: S603


def namespaces_available() -> bool:
    """Whether :class:`Network` may create namespaces here (see the module docstring)."""
    if os.environ.get(SANDBOX_ENV) != "1" or os.geteuid() != 0 or not shutil.which("ip"):
        return False
    try:  # per network namespace, unlike /sys/class/net (sysfs of the mount namespace)
        with open("/proc/self/net/dev", encoding="ascii") as fh:
            links = [line.split(":", 1)[0].strip() for line in fh.readlines()[2:]]
    except OSError:
        return False
    # Only loopback (and what this module made): the sandbox's fresh namespace.
    return all(name in ("lo", BRIDGE) or name.startswith("wv-") for name in links)


class Network:
    """The hosts of one test session. ``Network(["db", "index", ...])`` creates them;
    ``network["index"]`` is a :class:`Host`; :meth:`close` removes the namespaces."""

    def __init__(self, names: Sequence[str], *, isolate: bool | None = None) -> None:
        if len(names) > 200:
            raise ValueError("at most 200 hosts")
        self.isolated = namespaces_available() if isolate is None else isolate
        self._ip = shutil.which("ip") or "ip"
        self.hosts: dict[str, Host] = {}
        self._created: list[str] = []
        if not self.isolated:
            self.hosts = {name: Host(name, LOOPBACK) for name in names}
            return
        try:
            self._bridge()
            for number, name in enumerate(names, start=10):
                self.hosts[name] = self._namespace(name, f"{SUBNET}.{number}")
        except BaseException:
            self.close()
            raise

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    @property
    def cidr(self) -> str:
        """Every host's address: the sandbox's /24, or 127.0.0.0/8 on loopback."""
        return f"{SUBNET}.0/24" if self.isolated else "127.0.0.0/8"

    @property
    def gateway(self) -> str:
        """The address pytest's side of the network has (the bridge), or loopback."""
        return f"{SUBNET}.1" if self.isolated else LOOPBACK

    def close(self) -> None:
        """Delete the namespaces and the bridge (processes in them should be gone first)."""
        for name in reversed(self._created):
            self._run("netns", "delete", name, check=False)
            self._run("link", "delete", _veth(name), check=False)
        self._created.clear()
        if self.isolated:
            self._run("link", "delete", BRIDGE, check=False)

    # -- internals ---------------------------------------------------------------------

    def _bridge(self) -> None:
        self._run("link", "add", BRIDGE, "type", "bridge")
        self._run("addr", "add", f"{SUBNET}.1/24", "dev", BRIDGE)
        self._run("link", "set", BRIDGE, "up")

    def _namespace(self, name: str, address: str) -> Host:
        if not name.isidentifier() or len(name) > 12:
            raise ValueError(f"host name {name!r}: a short identifier, please")
        veth = _veth(name)
        self._run("netns", "add", name)
        self._created.append(name)
        self._run("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
        self._run("link", "set", veth, "master", BRIDGE, "up")
        self._run("-n", name, "link", "set", "lo", "up")
        self._run("-n", name, "addr", "add", f"{address}/24", "dev", "eth0")
        self._run("-n", name, "link", "set", "eth0", "up")
        return Host(name, address, (self._ip, "netns", "exec", name))

    def _run(self, *args: str, check: bool = True) -> None:
        result = subprocess.run(  # noqa: S603 - fixed ip(8) command lines
            [self._ip, *args], capture_output=True, text=True, check=False, timeout=30
        )
        if check and result.returncode != 0:
            raise HostsError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")


def _veth(name: str) -> str:
    return f"wv-{name}"[:15]
