"""The pull-through cache (registry mirror): see ``mirror.py`` and docs/pull-through-cache.md."""

from .leases import FetchLeases
from .mirror import Mirror, ProxyPushRefused, VerificationFailed
from .upstream import UpstreamClient, UpstreamUnavailable

__all__ = [
    "FetchLeases",
    "Mirror",
    "ProxyPushRefused",
    "UpstreamClient",
    "UpstreamUnavailable",
    "VerificationFailed",
]
