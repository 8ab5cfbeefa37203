"""The pull-through cache (registry mirror): see ``mirror.py`` and docs/pull-through-cache.md."""

from .fetch import VerificationFailed
from .leases import FetchLeases
from .mirror import Mirror, ProxyPushRefused
from .upstream import UpstreamClient, UpstreamRateLimited, UpstreamUnavailable

__all__ = [
    "FetchLeases",
    "Mirror",
    "ProxyPushRefused",
    "UpstreamClient",
    "UpstreamRateLimited",
    "UpstreamUnavailable",
    "VerificationFailed",
]
