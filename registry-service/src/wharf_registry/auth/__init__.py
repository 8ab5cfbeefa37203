"""Auth backends behind one seam (:mod:`.base`); chosen by ``REGISTRY_AUTH``.

``none`` (default) and ``htpasswd`` exist; ``token`` (Bearer tokens checked with the Index)
plugs in here as a third :class:`~.base.Authenticator` without touching the views.
"""

from __future__ import annotations

from ..settings import ConfigError, Settings
from .base import AccessDenied, AuthenticationRequired, Authenticator, Identity
from .htpasswd import HtpasswdAuth, HtpasswdError
from .none import NoAuth

__all__ = [
    "AccessDenied",
    "AuthenticationRequired",
    "Authenticator",
    "Identity",
    "create_authenticator",
]


def create_authenticator(settings: Settings) -> Authenticator:
    """Build the backend ``settings.auth`` names; ConfigError naming the variable if unusable."""
    if settings.auth == "none":
        return NoAuth()
    if settings.auth == "htpasswd":
        if not settings.htpasswd_path:
            raise ConfigError(["REGISTRY_AUTH_HTPASSWD_PATH: required when REGISTRY_AUTH=htpasswd"])
        try:
            return HtpasswdAuth.from_file(settings.htpasswd_path, settings.htpasswd_realm)
        except HtpasswdError as exc:
            raise ConfigError([f"REGISTRY_AUTH_HTPASSWD_PATH: {exc}"]) from None
    raise ConfigError([f"REGISTRY_AUTH: unknown backend {settings.auth!r}"])
