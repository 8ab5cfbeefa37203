"""REGISTRY_ALLOWED_NETWORKS: the networks clients must connect from.

A private registry's further check besides the Index's tokens (the Index README's
"Registry kinds"): every request but the health checks (``/healthz``, ``/readyz``, for
load balancers) and ``/metrics`` (which has its own token) is refused with 403 ``DENIED``
unless the client's address is in one of the networks. The client's address is the one
pull limits and events use: the connection's peer, or, with REGISTRY_TRUSTED_PROXIES, the
address those proxies appended to ``X-Forwarded-For`` (werkzeug's ProxyFix, app.py), so a
client cannot choose its address by sending the header itself.
"""

from __future__ import annotations

import ipaddress

from flask import current_app, request
from wharf_protocol import errcode
from wharf_protocol.errcode import ProtocolError

UNCHECKED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def client_allowed(address: str | None, networks) -> bool:
    """Tell whether ``address`` (text, IPv4, IPv6 or IPv4-mapped IPv6) is in ``networks``;
    an address that does not parse never is."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def check_client_network() -> None:
    """before_request: refuse a client outside REGISTRY_ALLOWED_NETWORKS (403 DENIED)."""
    if request.path in UNCHECKED_PATHS:
        return
    networks = current_app.extensions["registry"].settings.allowed_networks
    if not client_allowed(request.remote_addr, networks):
        raise ProtocolError(
            errcode.DENIED,
            f"requests from {request.remote_addr} are not allowed on this registry",
            status=403,
        )
