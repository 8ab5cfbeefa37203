"""Access scopes and ``WWW-Authenticate`` challenges of Docker token authentication.

Scope grammar (distribution docs, "Token Scope Documentation", "Resource Scope Grammar")::

    scope          ::= resourcescope (" " resourcescope)*
    resourcescope  ::= resourcetype ":" resourcename ":" action ("," action)*
    resourcetype   ::= [a-z0-9]+ ("(" [a-z0-9]+ ")")?      e.g. "repository(plugin)"
    resourcename   ::= (hostname "/")? component ("/" component)*
    hostname       ::= hostcomponent ("." hostcomponent)* (":" port-number)?
    action         ::= [a-z]+ | "*"

A resource name may contain ``:`` (a registry host with a port: ``localhost:5000/foo``),
so the type ends at the FIRST colon and the actions start after the LAST colon. Examples:
``repository:samalba/my-app:pull,push``, ``registry:catalog:*``.

Challenges (distribution docs, "Token Authentication Specification", "How to authenticate";
RFC 7235 section 4.1)::

    Bearer realm="https://index/v2/token",service="registry",scope="repository:a/b:pull"

Several scopes go space-separated into one ``scope`` parameter. Quoted values escape ``"``
and ``\\`` with a backslash (RFC 7230 section 3.2.6).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "Challenge",
    "ChallengeInvalid",
    "Scope",
    "ScopeInvalid",
    "allows",
    "basic_challenge",
    "bearer_challenge",
    "format_scope",
    "intersect",
    "parse_challenge",
    "parse_scope",
    "parse_scopes",
]

_TYPE_RE = re.compile(r"[a-z0-9]+(?:\([a-z0-9]+\))?")
_HOSTCOMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOSTNAME = rf"{_HOSTCOMPONENT}(?:\.{_HOSTCOMPONENT})*(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*"
_NAME_RE = re.compile(rf"(?:{_HOSTNAME}/)?{_COMPONENT}(?:/{_COMPONENT})*")
_ACTION_RE = re.compile(r"[a-z]+|\*")


class ScopeInvalid(ValueError):
    """A scope string or Scope value does not follow the resource scope grammar."""


class ChallengeInvalid(ValueError):
    """A ``WWW-Authenticate`` value cannot be parsed, or a value cannot go into one."""


@dataclass(frozen=True)
class Scope:
    """One resource scope: ``type`` (with optional ``(class)``), ``name``, ``actions``.

    Construction validates each part against the grammar and raises :class:`ScopeInvalid`.
    ``actions`` may be given as any iterable of strings; it is stored as a frozenset.
    ``str(scope)`` is :func:`format_scope`.
    """

    type: str
    name: str
    actions: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not isinstance(self.type, str) or not _TYPE_RE.fullmatch(self.type):
            raise ScopeInvalid(f"invalid resource type: {self.type!r}")
        if not isinstance(self.name, str) or not _NAME_RE.fullmatch(self.name):
            raise ScopeInvalid(f"invalid resource name: {self.name!r}")
        if isinstance(self.actions, str):
            raise ScopeInvalid("actions must be an iterable of strings, not a string")
        actions = frozenset(self.actions)
        for action in actions:
            if not isinstance(action, str) or not _ACTION_RE.fullmatch(action):
                raise ScopeInvalid(f"invalid action: {action!r}")
        object.__setattr__(self, "actions", actions)

    def __str__(self) -> str:
        return format_scope(self)


def format_scope(scope: Scope) -> str:
    """Return ``type:name:a,b`` with the actions sorted (``*`` sorts first)."""
    return f"{scope.type}:{scope.name}:{','.join(sorted(scope.actions))}"


def parse_scope(value: str) -> Scope:
    """Parse one resource scope ``type:name:actions``.

    The type ends at the first ``:``, the actions follow the last ``:`` (names may hold a
    ``host:port``). Empty actions between commas are ignored; ``repository:a:`` has no
    actions. Raises :class:`ScopeInvalid` for anything outside the grammar.
    """
    if not isinstance(value, str):
        raise ScopeInvalid(f"invalid scope: {value!r}")
    type_, sep1, rest = value.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not (sep1 and sep2):
        raise ScopeInvalid(f"invalid scope (want type:name:actions): {value!r}")
    return Scope(type_, name, frozenset(a for a in actions.split(",") if a))


def _merge(scopes: Iterable[Scope]) -> tuple[Scope, ...]:
    merged: dict[tuple[str, str], frozenset[str]] = {}
    for scope in scopes:
        key = (scope.type, scope.name)
        merged[key] = merged.get(key, frozenset()) | scope.actions
    return tuple(Scope(t, n, a) for (t, n), a in merged.items())


def parse_scopes(values: Iterable[str]) -> tuple[Scope, ...]:
    """Parse ``scope`` query values (each may hold several space-separated scopes).

    Scopes naming the same (type, name) are merged into one with the union of actions, in
    order of first appearance (distribution docs, "Requesting a Token": ``scope`` may repeat).
    Raises :class:`ScopeInvalid` for any malformed scope.
    """
    if isinstance(values, str):
        values = [values]
    return _merge(parse_scope(part) for value in values for part in value.split())


def intersect(requested: Iterable[Scope], allowed: Iterable[Scope]) -> tuple[Scope, ...]:
    """Return the requested scopes cut down to what ``allowed`` grants.

    For each requested (type, name): the requested actions that an allowed scope with the
    same type and name lists; ``*`` among allowed actions grants every requested action.
    Scopes left without actions are dropped: asking for more is not an error, the token just
    grants less (distribution docs, "Token Authentication Specification").
    """
    grants: dict[tuple[str, str], frozenset[str]] = {}
    for scope in allowed:
        key = (scope.type, scope.name)
        grants[key] = grants.get(key, frozenset()) | scope.actions
    result = []
    for scope in _merge(requested):
        granted = grants.get((scope.type, scope.name), frozenset())
        actions = scope.actions if "*" in granted else scope.actions & granted
        if actions:
            result.append(Scope(scope.type, scope.name, actions))
    return tuple(result)


def allows(access: Iterable[Scope], type: str, name: str, action: str) -> bool:
    """Tell whether ``access`` grants ``action`` on ``type:name`` (``*`` grants any action)."""
    return any(
        scope.type == type
        and scope.name == name
        and (action in scope.actions or "*" in scope.actions)
        for scope in access
    )


@dataclass(frozen=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` challenge: lower-case scheme, parameters by lower-case name.

    ``str(challenge)`` formats it back (scheme capitalised, every value quoted).
    """

    scheme: str
    params: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def scopes(self) -> tuple[Scope, ...]:
        """Return the scopes of the ``scope`` parameter (raises :class:`ScopeInvalid`)."""
        return parse_scopes([self.params.get("scope", "")])

    def __str__(self) -> str:
        return _format(self.scheme.capitalize(), self.params.items())


def _quote(value: str) -> str:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ChallengeInvalid("challenge values cannot hold control characters")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _format(scheme: str, params: Iterable[tuple[str, str]]) -> str:
    rendered = ",".join(f"{k}={_quote(v)}" for k, v in params)
    return f"{scheme} {rendered}" if rendered else scheme


def bearer_challenge(
    realm: str, service: str, scopes: Iterable[Scope | str] = (), error: str | None = None
) -> str:
    """Return the ``WWW-Authenticate`` value of a Bearer challenge.

    ``Bearer realm="..",service=".."[,scope="s1 s2"][,error=".."]`` (token spec, "How to
    authenticate"; ``error="insufficient_scope"`` per RFC 6750 section 3). Scopes may be
    Scope values or scope strings. Raises :class:`ChallengeInvalid` for control characters.
    """
    params = [("realm", realm), ("service", service)]
    scope = " ".join(str(s) for s in scopes)
    if scope:
        params.append(("scope", scope))
    if error:
        params.append(("error", error))
    return _format("Bearer", params)


def basic_challenge(realm: str) -> str:
    """Return ``Basic realm=".."`` (RFC 7617 section 2; htpasswd mode of the Registry)."""
    return _format("Basic", [("realm", realm)])


_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"  # RFC 7230 section 3.2.6 token
_SCHEME_RE = re.compile(rf"\s*({_TCHARS})")
_PARAM_RE = re.compile(rf"""[\s,]*({_TCHARS})\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,"]+)\s*""", re.S)
_NEXT_CHALLENGE_RE = re.compile(rf"[\s,]*{_TCHARS}(?:\s+[^\s=,]|\s*$)")


def parse_challenge(header: str) -> Challenge:
    """Parse the first challenge of a ``WWW-Authenticate`` value.

    Scheme and parameter names are case-insensitive (RFC 7235 section 2.1) and returned in
    lower case; quoted values are unescaped, so commas and escaped quotes inside them are
    kept. Parsing stops where a second challenge starts. Raises :class:`ChallengeInvalid`
    if no scheme is found or a parameter is malformed.
    """
    match = _SCHEME_RE.match(header or "")
    if not match:
        raise ChallengeInvalid(f"no auth scheme in {header!r}")
    scheme, pos, params = match.group(1).lower(), match.end(), {}
    while pos < len(header) and header[pos:].strip(" \t,"):
        param = _PARAM_RE.match(header, pos)
        if not param:
            if _NEXT_CHALLENGE_RE.match(header, pos):
                break
            raise ChallengeInvalid(f"malformed challenge parameter at {header[pos:]!r}")
        value = param.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1], flags=re.S)
        params[param.group(1).lower()] = value
        pos = param.end()
    return Challenge(scheme, params)
