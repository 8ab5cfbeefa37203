"""The pull-through cache's upstreams: ``REGISTRY_PROXY_*`` (the README's "Pull-through cache").

Distribution's single upstream (its documentation, "Configuring a registry", ``proxy``;
"Registry as a pull through cache")::

    REGISTRY_PROXY_REMOTEURL   https://registry-1.docker.io   every repository is mirrored
    REGISTRY_PROXY_USERNAME    credentials for the upstream (Basic, or to get Bearer tokens)
    REGISTRY_PROXY_PASSWORD    (or REGISTRY_PROXY_PASSWORD_FILE)
    REGISTRY_PROXY_TTL         how long a tag's digest is trusted before asking again

Wharf adds ``REGISTRY_PROXY_DOWN_BACKOFF``, how long an upstream that failed is not asked
for what the cache can answer (proxy/health.py; the default of each upstream's
``down_backoff``), and several upstreams, each bound to repository name prefixes, as one JSON list
(``proxy.upstreams`` in a configuration file, kept whole)::

    REGISTRY_PROXY_UPSTREAMS='[
      {"prefix": "library/", "url": "https://registry-1.docker.io", "ttl": "10m",
       "down_backoff": "1m"},
      {"prefix": "acme/", "url": "https://registry.acme.example", "username": "bot",
       "password": "..."}]'

A prefix is one or more name components followed by ``/`` (``acme`` is taken as ``acme/``);
the empty prefix mirrors everything not bound otherwise, which is what ``REMOTEURL`` is. A
repository is mirrored by the upstream with the longest matching prefix, under the same
name there. Passwords are secrets: :class:`Upstream` keeps them out of its ``repr``, and
logs name the upstream by :attr:`Upstream.safe_url`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from .endpoints_config import parse_duration

VARIABLE = "REGISTRY_PROXY_UPSTREAMS"
DEFAULT_TTL = 300.0  # seconds a tag's digest is served before the upstream is asked again
DEFAULT_DOWN_BACKOFF = 30.0  # seconds a failed upstream is not asked what the cache answers
FIELDS = frozenset({"prefix", "url", "username", "password", "ttl", "down_backoff"})
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
PREFIX_RE = re.compile(rf"(?:{_COMPONENT}/)*")


@dataclass(frozen=True)
class Upstream:
    """One mirrored registry: the names it serves (``prefix``), where, how to sign in."""

    prefix: str  # "" or components ending in "/"
    url: str = field(repr=False)  # without a trailing slash
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ttl: float = DEFAULT_TTL
    down_backoff: float = DEFAULT_DOWN_BACKOFF  # 0: every request asks (proxy/health.py)

    @property
    def safe_url(self) -> str:
        """The URL without user information or query, for logs and error messages."""
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))

    def serves(self, name: str) -> bool:
        """Tell whether repository ``name`` is under this upstream's prefix."""
        return name.startswith(self.prefix)


def upstream_for(upstreams: tuple[Upstream, ...], name: str) -> Upstream | None:
    """The upstream mirroring repository ``name`` (longest prefix), or None."""
    found = [u for u in upstreams if u.serves(name)]
    return max(found, key=lambda u: len(u.prefix)) if found else None


def parse_proxy(
    env: Mapping[str, str], password: str | None
) -> tuple[tuple[Upstream, ...], list[str]]:
    """Parse REGISTRY_PROXY_*; return the upstreams and one problem per bad setting.

    ``password`` is REGISTRY_PROXY_PASSWORD (or its ``_FILE``), read by the caller.
    """
    problems: list[str] = []
    upstreams: list[Upstream] = []
    remote = env.get("REGISTRY_PROXY_REMOTEURL") or None
    username = env.get("REGISTRY_PROXY_USERNAME") or None
    ttl = _duration(env.get("REGISTRY_PROXY_TTL"), "REGISTRY_PROXY_TTL", DEFAULT_TTL, problems)
    backoff = _duration(
        env.get("REGISTRY_PROXY_DOWN_BACKOFF"),
        "REGISTRY_PROXY_DOWN_BACKOFF",
        DEFAULT_DOWN_BACKOFF,
        problems,
    )
    if remote is not None:
        url = _url(remote, "REGISTRY_PROXY_REMOTEURL", problems)
        if url is not None:
            upstreams.append(Upstream("", url, username, password, ttl, backoff))
    elif username or password:
        problems.append("REGISTRY_PROXY_USERNAME: needs REGISTRY_PROXY_REMOTEURL")
    if bool(username) != bool(password) and remote is not None:
        problems.append(
            "REGISTRY_PROXY_USERNAME and REGISTRY_PROXY_PASSWORD go together (Basic credentials)"
        )
    listed, found = _upstreams(env.get(VARIABLE), ttl, backoff)
    problems += found
    for upstream in listed:
        if any(u.prefix == upstream.prefix for u in upstreams):
            where = "REGISTRY_PROXY_REMOTEURL" if upstream.prefix == "" else "another upstream"
            problems.append(f"{VARIABLE}: prefix {upstream.prefix!r} is bound by {where} already")
            continue
        upstreams.append(upstream)
    return tuple(upstreams), problems


def _upstreams(raw: str | None, ttl: float, backoff: float) -> tuple[list[Upstream], list[str]]:
    if raw is None or not raw.strip():
        return [], []
    try:
        items = json.loads(raw)
    except ValueError as exc:
        return [], [f"{VARIABLE}: not JSON: {exc}"]
    if isinstance(items, dict):  # {"acme/": {"url": ...}}: the prefix as the key
        items = [
            {"prefix": k, **v} if isinstance(v, dict) else {"prefix": k, "url": v}
            for k, v in items.items()
        ]
    if not isinstance(items, list):
        return [], [f"{VARIABLE}: must be a JSON list of upstream objects"]
    upstreams, problems = [], []
    for index, item in enumerate(items):
        where = f"{VARIABLE}: upstream {index}"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be an object with prefix and url")
            continue
        unknown = sorted(set(item) - FIELDS)
        if unknown:
            problems.append(f"{where}: unknown field(s) {unknown} (known: {sorted(FIELDS)})")
            continue
        prefix = item.get("prefix")
        if not isinstance(prefix, str):
            problems.append(f"{where}: prefix is required (a string, '' for every repository)")
            continue
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        if not PREFIX_RE.fullmatch(prefix):
            problems.append(f"{where}: prefix {prefix!r} is not repository name components")
            continue
        where = f"{VARIABLE}: upstream {prefix!r}"
        url = _url(item.get("url"), f"{where}: url", problems)
        user, password = item.get("username"), item.get("password")
        if not all(v is None or isinstance(v, str) for v in (user, password)):
            problems.append(f"{where}: username and password must be strings")
            continue
        if bool(user) != bool(password):
            problems.append(f"{where}: username and password go together")
            continue
        found_ttl = _duration(item.get("ttl", ""), f"{where}: ttl", ttl, problems)
        found_backoff = _duration(
            item.get("down_backoff", ""), f"{where}: down_backoff", backoff, problems
        )
        if url is None:
            continue
        if any(u.prefix == prefix for u in upstreams):
            problems.append(f"{where}: prefix bound twice")
            continue
        upstreams.append(
            Upstream(prefix, url, user or None, password or None, found_ttl, found_backoff)
        )
    return upstreams, problems


def _url(raw: object, name: str, problems: list[str]) -> str | None:
    parts = urlsplit(raw) if isinstance(raw, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        problems.append(f"{name}: {raw!r} is not an http(s) URL")
        return None
    if "@" in parts.netloc:
        problems.append(f"{name}: give credentials as username and password, not in the URL")
        return None
    return raw.rstrip("/")


def _duration(raw: object, name: str, default: float, problems: list[str]) -> float:
    if raw is None or raw == "":
        return default
    try:
        return parse_duration(raw)
    except ValueError as exc:
        problems.append(f"{name}: {exc}")
        return default
