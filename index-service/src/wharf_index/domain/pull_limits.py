"""Pull rate limits, as Docker Hub has them: so many manifest pulls per window, per account
or, for anonymous callers, per client address.

A *pull* is a manifest GET at a registry (HEAD is free), reported to the Index as a ``pull``
event (Wharf's ``count`` extension: n pulls). Counts are kept per *subject* and fixed window:
the window of a moment ``t`` starts at ``t - t % window`` (Unix seconds, UTC), so every
process of every host puts a pull in the same window without talking to the others.

Subjects (:func:`account_subject`, :func:`address_subject`):

- ``user:<name>``: an authenticated caller (password, access token, robot), by user name,
  which is the token's subject and so the event's ``actor.name``;
- ``addr:<address>``: an anonymous caller, by client address: an IPv4 address, or the /64
  network of an IPv6 address (a host usually holds a whole /64, as Docker Hub counts too),
  an IPv4-mapped IPv6 address counting as its IPv4 address. A port (``1.2.3.4:5678``,
  ``[::1]:5678``: the reference registry's ``request.addr``) is dropped.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

ACCOUNT, ADDRESS = "user:", "addr:"
MAX_SUBJECT = 300  # user names and addresses are far shorter; anything longer is cut
IPV6_PREFIX = 64


@dataclass(frozen=True)
class Rate:
    """``pulls`` manifest pulls per ``window`` seconds."""

    pulls: int
    window: int

    def window_start(self, now: float) -> int:
        """The start (Unix seconds) of the window holding the moment ``now``."""
        second = int(now)
        return second - second % self.window

    def __str__(self) -> str:
        return f"{self.pulls} pulls per {self.window} s"


@dataclass(frozen=True)
class PullLimits:
    """The Index's pull rate limits; None: no limit for that kind of caller.

    ``exempt``: user names never limited (besides administrators and the Index itself)."""

    anonymous: Rate | None = None
    authenticated: Rate | None = None
    exempt: frozenset[str] = field(default_factory=frozenset)

    @property
    def on(self) -> bool:
        return self.anonymous is not None or self.authenticated is not None

    def for_account(self, name: str) -> tuple[str, Rate] | None:
        """The subject and rate of user ``name``'s pulls; None when not limited."""
        if self.authenticated is None or not name or name in self.exempt:
            return None
        return account_subject(name), self.authenticated

    def for_address(self, address: str) -> tuple[str, Rate] | None:
        """The subject and rate of anonymous pulls from ``address``; None when not limited
        (or the address is unknown)."""
        subject = address_subject(address)
        if self.anonymous is None or subject is None:
            return None
        return subject, self.anonymous


def account_subject(name: str) -> str:
    return (ACCOUNT + name)[:MAX_SUBJECT]


def address_subject(address: str) -> str | None:
    """The subject of an anonymous client at ``address`` (module docstring); None for ""."""
    text = address.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    if not text:
        return None
    try:
        ip = ipaddress.ip_address(text.partition("%")[0])  # no zone index
    except ValueError:
        return (ADDRESS + text)[:MAX_SUBJECT]  # not an address: counted as given
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False)
        return ADDRESS + network.with_prefixlen
    return ADDRESS + str(ip)
