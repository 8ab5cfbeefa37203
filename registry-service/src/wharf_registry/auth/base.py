"""The auth seam: who is calling (``authenticate``) and may they do this (``authorize``).

``api/access.py`` calls, for every request, ``authenticate(request)`` then
``authorize(identity, scopes)`` with the scopes the endpoint needs
(``repository:<name>:pull|push|delete``, ``registry:catalog:*``). Backends raise
:class:`AuthenticationRequired` (answered 401 with ``challenge(scopes)`` as
``WWW-Authenticate``) or :class:`AccessDenied` (403 ``DENIED``). A ``token`` backend fits
the same shape: ``authenticate`` verifies a Bearer token and returns an identity whose
``access`` are the token's scopes; ``challenge`` returns a Bearer challenge naming realm,
service and scopes. Views never see backends.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import Request
from wharf_protocol.policy import EMPTY as NO_POLICY
from wharf_protocol.policy import Policy
from wharf_protocol.scopes import Scope, allows

__all__ = ["AccessDenied", "AuthenticationRequired", "Authenticator", "Identity"]


@dataclass(frozen=True)
class Identity:
    """An authenticated caller. ``access`` None means unrestricted (auth ``none``/htpasswd).

    ``policy``: what the token's issuer requires of this caller's requests (immutable tags,
    quotas, pull limits; :mod:`wharf_protocol.policy`); empty without a token.
    """

    name: str = ""
    access: tuple[Scope, ...] | None = None
    policy: Policy = field(default=NO_POLICY, compare=False, repr=False)

    def may(self, type: str, name: str, action: str) -> bool:
        """Tell whether this identity may do ``action`` on resource ``type``/``name``."""
        return self.access is None or allows(self.access, type, name, action)


class AuthenticationRequired(Exception):
    """No or bad credentials: answer 401 with a challenge (``UNAUTHORIZED``).

    ``error`` is the challenge's RFC 6750 ``error`` parameter (None: no credentials given).
    """

    error: str | None = None

    def __init__(self, message: str = "authentication required") -> None:
        super().__init__(message)
        self.message = message
        self.challenge: str | None = None  # filled in by api/access.py


class AccessDenied(Exception):
    """Authenticated but not allowed: answer 403 ``DENIED``."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(f"access denied: {scope}")
        self.scope = scope


class Authenticator(abc.ABC):
    """A backend: turns a request into an Identity and checks scopes."""

    name: str

    @abc.abstractmethod
    def authenticate(self, request: Request) -> Identity:
        """Return the caller's identity or raise AuthenticationRequired."""

    def authorize(self, identity: Identity, scopes: Sequence[Scope]) -> None:
        """Raise AccessDenied (or AuthenticationRequired) unless every scope is granted."""
        for scope in scopes:
            for action in sorted(scope.actions):
                if not identity.may(scope.type, scope.name, action):
                    raise AccessDenied(scope)

    def pullable(self, identity: Identity, request: Request, names: list[str]) -> list[str]:
        """Return the names of ``names`` (a page of the catalog) ``identity`` may see listed,
        in order. Here: those it may pull (every name without auth or with htpasswd)."""
        return [name for name in names if identity.may("repository", name, "pull")]

    def challenge(self, scopes: Sequence[Scope], error: str | None = None) -> str | None:
        """Return the WWW-Authenticate value for a 401 about ``scopes`` (None: no header).

        ``error`` is the :attr:`AuthenticationRequired.error` of the refusal, if any.
        """
        return None
