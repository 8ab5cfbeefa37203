"""Auth backends behind one seam (:mod:`.base`); chosen by ``REGISTRY_AUTH``.

``none`` (default), ``htpasswd`` (scenario D) and ``token`` (Bearer tokens from the Wharf
Index, checked with the Index or locally, :mod:`.token`).
"""

from __future__ import annotations

from wharf_protocol.client import IndexClient

from ..settings import LOCAL, ConfigError, Settings
from .base import AccessDenied, AuthenticationRequired, Authenticator, Identity
from .htpasswd import HtpasswdAuth, HtpasswdError
from .none import NoAuth
from .token import RemoteVerification, TokenAuth, local_verification

__all__ = [
    "AccessDenied",
    "AuthenticationRequired",
    "Authenticator",
    "Identity",
    "create_authenticator",
]


def create_authenticator(settings: Settings, index: IndexClient | None = None) -> Authenticator:
    """Build the backend ``settings.auth`` names; ConfigError naming the variable if unusable.

    ``index`` is the client remote token verification uses (required for it).
    """
    if settings.auth == "token":
        return _token_auth(settings, index)
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


def _token_auth(settings: Settings, index: IndexClient | None) -> TokenAuth:
    if settings.problems():
        raise ConfigError(settings.problems())
    service = settings.token_service or ""
    if settings.token_verify == LOCAL:
        try:
            verify = local_verification(
                settings.token_keys, settings.token_issuer, service, settings.token_leeway
            )
        except ValueError as exc:
            raise ConfigError([f"REGISTRY_AUTH_TOKEN_KEYS: {exc}"]) from None
    else:
        if index is None:
            raise ConfigError(["REGISTRY_INDEX_URL: required for remote token verification"])
        verify = RemoteVerification(index, service, settings.token_cache_ttl, settings.token_leeway)
    return TokenAuth(settings.token_realm or "", service, verify)
