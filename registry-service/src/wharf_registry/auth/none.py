"""``REGISTRY_AUTH=none``: everyone is an anonymous identity allowed everything."""

from __future__ import annotations

from flask import Request

from .base import Authenticator, Identity

ANONYMOUS = Identity()


class NoAuth(Authenticator):
    """Authenticate every request as anonymous, with unrestricted access."""

    name = "none"

    def authenticate(self, request: Request) -> Identity:
        """Return the anonymous identity."""
        return ANONYMOUS
