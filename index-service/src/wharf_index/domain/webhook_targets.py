"""Where a webhook may send: the address rule that keeps webhooks from reaching inside.

A webhook URL is chosen by a user, and the Index connects to it from inside the operator's
network, so by default it may reach only globally routable unicast addresses: never
loopback, private (RFC 1918, RFC 4193), carrier-grade NAT (RFC 6598), link-local (RFC 3927,
RFC 4291; cloud metadata services such as 169.254.169.254 live there), multicast,
unspecified or reserved ones. An IPv4-mapped IPv6 address is judged by the
IPv4 address it carries. ``INDEX_WEBHOOK_ALLOWED_NETWORKS`` names networks allowed anyway
(an on-premises receiver).

The rule is applied twice: when a webhook is created or changed (:func:`url_problem`: the
URL's shape, and a host that is an address literal or ``localhost``), and at every
delivery against the address actually connected to (the worker resolves the host, and
connects only to an address :func:`address_allowed` accepts), because DNS can change
between the two.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048
LOCAL_NAMES = ("localhost", "localhost.localdomain")


def parse_networks(raw: str) -> tuple[Network, ...]:
    """Parse a comma-separated list of CIDR networks (``10.0.0.0/8, ::1/128``); raise
    ValueError naming the bad entry."""
    networks = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not a network (CIDR, e.g. 10.0.0.0/8)") from None
    return tuple(networks)


def _unmapped(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_allowed(address: Address | str, allowed: Sequence[Network] = ()) -> bool:
    """True when a webhook may connect to ``address`` (module docstring)."""
    address = _unmapped(ipaddress.ip_address(address))
    if any(address.version == net.version and address in net for net in allowed):
        return True
    return address.is_global and not address.is_multicast


def url_problem(url: str, allowed: Sequence[Network] = ()) -> str | None:
    """What is wrong with ``url`` as a webhook target, or None. Checks the shape (http or
    https, a host, no user information, at most 2048 characters) and refuses a host that is
    a disallowed address literal or a local name; other names are checked at delivery."""
    if len(url) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a URL"
    del port  # parsed only to refuse a bad port
    if parts.scheme not in ("http", "https"):
        return "must be an http or https URL"
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password (the payload is signed instead)"
    host = parts.hostname.rstrip(".").lower()
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        host = "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address_allowed(address, allowed):
        return "points at a loopback, private, link-local or reserved address"
    return None
