"""Repository and namespace policy the Index hands a registry inside a token.

A token's JWT may carry Wharf's private claim ``wharf`` (RFC 7519 section 4.3, a private
claim name; other registries ignore it)::

    "wharf": {
      "repositories": {"<name>": {"immutable": ["v*", "release-?"]}},
      "quotas": {"<namespace>": {"limit": <bytes>, "used": <bytes>}},
      "pulls": {"limit": <pulls>, "remaining": <pulls>, "window": <seconds>}
    }

Every part is optional; an absent part means "no such policy". The Index decides the
policy when it issues the token, so a registry enforces it without a call, and a change at
the Index reaches a registry with the next token (at most one token lifetime later).

Tag patterns are shell-style globs matched against the whole tag (``*`` any run of
characters, ``?`` one character, ``[...]`` a set), case-sensitively: ``v*`` matches
``v1.2`` and not ``V1``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import Any

__all__ = [
    "MAX_PATTERN_LENGTH",
    "NamespaceQuota",
    "Policy",
    "PolicyInvalid",
    "PullLimit",
    "RepositoryPolicy",
    "check_tag_pattern",
    "tag_matches",
]

CLAIM = "wharf"
MAX_PATTERN_LENGTH = 128
MAX_BYTES = 2**63 - 1
# A tag is [A-Za-z0-9_][A-Za-z0-9._-]{0,127} (distribution-spec); a pattern adds * ? [ ] !.
_PATTERN_RE = re.compile(r"[A-Za-z0-9_.\-*?\[\]!]+")


class PolicyInvalid(ValueError):
    """A policy claim or a tag pattern is malformed; the message says which part."""


def check_tag_pattern(pattern: object) -> str:
    """Return ``pattern`` if it is a valid tag pattern; raise :class:`PolicyInvalid`."""
    if not isinstance(pattern, str) or not pattern:
        raise PolicyInvalid("a tag pattern is a non-empty string")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PolicyInvalid(f"a tag pattern is at most {MAX_PATTERN_LENGTH} characters")
    if not _PATTERN_RE.fullmatch(pattern):
        raise PolicyInvalid(
            f"tag pattern {pattern!r} may hold only tag characters (A-Z a-z 0-9 _ . -) "
            "and the wildcards * ? [ ] !"
        )
    return pattern


def tag_matches(patterns: Iterable[str], tag: str) -> bool:
    """Tell whether ``tag`` matches any of ``patterns`` (whole tag, case-sensitive)."""
    return any(fnmatchcase(tag, pattern) for pattern in patterns)


def _bytes(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BYTES:
        raise PolicyInvalid(f"{what} is an integer from 0 to 2**63 - 1")
    return value


def _object(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PolicyInvalid(f"{what} is not a JSON object")
    return value


@dataclass(frozen=True)
class RepositoryPolicy:
    """One repository's rules: tags matching ``immutable`` are never moved or deleted."""

    immutable: tuple[str, ...] = ()

    def is_immutable(self, tag: str) -> bool:
        """Tell whether ``tag`` may not be overwritten or deleted."""
        return tag_matches(self.immutable, tag)

    def to_claim(self) -> dict[str, Any]:
        return {"immutable": list(self.immutable)} if self.immutable else {}

    @classmethod
    def from_claim(cls, data: object) -> RepositoryPolicy:
        data = _object(data, "a repository policy")
        immutable = data.get("immutable", [])
        if not isinstance(immutable, list):
            raise PolicyInvalid("'immutable' is not a list of tag patterns")
        return cls(tuple(check_tag_pattern(p) for p in immutable))


@dataclass(frozen=True)
class NamespaceQuota:
    """A namespace's storage quota: ``limit`` bytes, ``used`` when the token was issued."""

    limit: int
    used: int

    def to_claim(self) -> dict[str, Any]:
        return {"limit": self.limit, "used": self.used}

    @classmethod
    def from_claim(cls, data: object) -> NamespaceQuota:
        data = _object(data, "a quota")
        return cls(
            _bytes(data.get("limit"), "a quota's limit"), _bytes(data.get("used"), "a quota's use")
        )


@dataclass(frozen=True)
class PullLimit:
    """The caller's pull rate limit: ``limit`` pulls per ``window`` seconds, of which
    ``remaining`` were left when the token was issued."""

    limit: int
    remaining: int
    window: int

    def to_claim(self) -> dict[str, Any]:
        return {"limit": self.limit, "remaining": self.remaining, "window": self.window}

    @classmethod
    def from_claim(cls, data: object) -> PullLimit:
        data = _object(data, "a pull limit")
        limit = _bytes(data.get("limit"), "a pull limit's limit")
        remaining = _bytes(data.get("remaining"), "a pull limit's remaining")
        window = _bytes(data.get("window"), "a pull limit's window")
        if window < 1:
            raise PolicyInvalid("a pull limit's window is at least one second")
        return cls(limit, min(remaining, limit), window)


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Policy:
    """What a token's ``wharf`` claim says; the empty policy enforces nothing."""

    repositories: Mapping[str, RepositoryPolicy] = field(default_factory=lambda: _frozen({}))
    quotas: Mapping[str, NamespaceQuota] = field(default_factory=lambda: _frozen({}))
    pulls: PullLimit | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "repositories", _frozen(self.repositories))
        object.__setattr__(self, "quotas", _frozen(self.quotas))

    def __bool__(self) -> bool:
        return bool(self.repositories or self.quotas or self.pulls)

    def repository(self, name: str) -> RepositoryPolicy:
        """Return the rules of repository ``name`` (none when the token names none)."""
        return self.repositories.get(name, _NO_RULES)

    def quota(self, namespace: str) -> NamespaceQuota | None:
        """Return the quota of ``namespace``, or None when it has none."""
        return self.quotas.get(namespace)

    def to_claim(self) -> dict[str, Any]:
        """Return the ``wharf`` claim's value (empty parts left out)."""
        claim: dict[str, Any] = {}
        repositories = {n: r.to_claim() for n, r in self.repositories.items() if r.to_claim()}
        if repositories:
            claim["repositories"] = repositories
        if self.quotas:
            claim["quotas"] = {ns: q.to_claim() for ns, q in self.quotas.items()}
        if self.pulls is not None:
            claim["pulls"] = self.pulls.to_claim()
        return claim

    @classmethod
    def from_claim(cls, data: object) -> Policy:
        """Build the policy from a ``wharf`` claim value; :class:`PolicyInvalid` if malformed."""
        if data is None:
            return EMPTY
        data = _object(data, f"claim {CLAIM!r}")
        repositories = _object(data.get("repositories", {}), "'repositories'")
        quotas = _object(data.get("quotas", {}), "'quotas'")
        pulls = data.get("pulls")
        return cls(
            {str(n): RepositoryPolicy.from_claim(r) for n, r in repositories.items()},
            {str(ns): NamespaceQuota.from_claim(q) for ns, q in quotas.items()},
            None if pulls is None else PullLimit.from_claim(pulls),
        )


_NO_RULES = RepositoryPolicy()
EMPTY = Policy()
