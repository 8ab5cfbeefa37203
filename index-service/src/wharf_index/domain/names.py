"""Rules for the names of namespaces (users, organisations), robots, teams and tokens.

A namespace name is one repository-name path component (OCI distribution-spec grammar,
``[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*``), at most 64 characters, and not reserved.

Reserved names (refused for every namespace): words that are, or may become, URL path
segments of the Index or the Registry, or that would mislead users::

    RESERVED below (v1, v2, api, root, internal, static, login, logout, ...)

``library`` (the conventional namespace of official images) and ``admin`` (the first
administrator the one-command stack creates) are reserved for administrators:
``allow_admin_only=True`` (the CLI, admin API calls) may create them.

A robot's username is ``<owner namespace>+<short name>`` (quay's convention), so it can
never collide with a namespace: ``+`` is not allowed in namespace names.
"""

from __future__ import annotations

import re

from .errors import NameInvalid, ReservedName

MAX_NAMESPACE_LENGTH = 64
MAX_USERNAME = 130  # users.username's limit (robots are "<namespace>+<name>")
NAMESPACE_RE = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
ROBOT_SHORT_RE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")
ROBOT_SEPARATOR = "+"

RESERVED = frozenset(
    {
        "v1",
        "v2",
        "v3",
        "api",
        "administrator",
        "root",
        "internal",
        "static",
        "assets",
        "login",
        "logout",
        "signin",
        "signout",
        "signup",
        "register",
        "account",
        "accounts",
        "settings",
        "search",
        "explore",
        "new",
        "help",
        "about",
        "docs",
        "openapi",
        "health",
        "healthz",
        "readyz",
        "metrics",
        "status",
        "token",
        "tokens",
        "oauth",
        "oauth2",
        "auth",
        "user",
        "users",
        "org",
        "orgs",
        "organisation",
        "organisations",
        "organization",
        "organizations",
        "team",
        "teams",
        "repository",
        "repositories",
        "registry",
        "registries",
        "namespace",
        "namespaces",
        "robot",
        "robots",
        "webhook",
        "webhooks",
        "system",
        "wharf",
        "docker",
        "index",
        "www",
        "me",
        "null",
        "none",
        "undefined",
        "anonymous",
        "everyone",
        "support",
        "security",
        "abuse",
        "billing",
        "_catalog",
        "wharf-index",  # the subject of the Index's own tokens (domain.model.SYSTEM)
    }
)
ADMIN_ONLY = frozenset({"library", "admin"})


def check_namespace_name(name: object, *, allow_admin_only: bool = False) -> str:
    """Return ``name`` if it may name a new user or organisation; raise otherwise.

    Raises NameInvalid (grammar, length) or ReservedName.
    """
    if not isinstance(name, str) or not NAMESPACE_RE.fullmatch(name):
        raise NameInvalid(name, "names are lowercase letters, digits and . _ __ - separators")
    if len(name) > MAX_NAMESPACE_LENGTH:
        raise NameInvalid(name, f"names are at most {MAX_NAMESPACE_LENGTH} characters")
    if name in RESERVED or (name in ADMIN_ONLY and not allow_admin_only):
        raise ReservedName(name)
    return name


def robot_username(owner: str, short_name: object) -> str:
    """Return ``owner+short_name``; NameInvalid when ``short_name`` breaks the grammar."""
    if (
        not isinstance(short_name, str)
        or not ROBOT_SHORT_RE.fullmatch(short_name)
        or len(short_name) > MAX_NAMESPACE_LENGTH
    ):
        raise NameInvalid(short_name, "robot names are lowercase letters, digits and _")
    return f"{owner}{ROBOT_SEPARATOR}{short_name}"


def check_short_name(name: object, what: str = "name") -> str:
    """Validate a team name (namespace grammar, no reservation); raise NameInvalid."""
    if (
        not isinstance(name, str)
        or not NAMESPACE_RE.fullmatch(name)
        or len(name) > MAX_NAMESPACE_LENGTH
    ):
        raise NameInvalid(name, f"invalid {what}")
    return name
