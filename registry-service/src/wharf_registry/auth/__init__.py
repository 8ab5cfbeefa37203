"""Auth backends behind one seam (:mod:`.base`); chosen by ``REGISTRY_AUTH``.

``none`` (default), ``htpasswd`` (scenario D) and ``token`` (Bearer JWTs from the Wharf
Index or another token server, checked with its published public keys, :mod:`.published`,
then, in ``remote`` mode, with the Index, :mod:`.token`; remembered per worker,
:mod:`.tokencache`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from wharf_protocol.client import IndexClient
from wharf_protocol.keys import KeySet

from ..settings import REMOTE, ConfigError, Settings, index_tls, read_keys
from .base import AccessDenied, AuthenticationRequired, Authenticator, Identity
from .htpasswd import HtpasswdAuth, HtpasswdError
from .none import NoAuth
from .published import FetchedKeys, PublishedKeys, is_url
from .token import TokenAuth, TokenVerification, local_verification

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
    keys = published_keys(settings)
    local = local_verification(keys, settings.token_issuer, service, settings.token_leeway)
    if settings.token_verify == REMOTE and index is None:
        raise ConfigError(["REGISTRY_INDEX_URL: required for remote token verification"])
    verify = TokenVerification(
        local,
        index if settings.token_verify == REMOTE else None,
        service,
        ttl=settings.token_cache_ttl,
        leeway=settings.token_leeway,
        capacity=settings.token_cache_size,
        confirm=settings.token_confirm,
    )
    remote = index if settings.token_verify == REMOTE else None
    return TokenAuth(settings.token_realm or "", service, verify, keys, remote)


def published_keys(settings: Settings) -> PublishedKeys:
    """The token server's public keys from the settings; ConfigError naming a bad file."""
    files = KeySet()
    sources = [("REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE", settings.token_rootcertbundle, True)]
    sources.append(("REGISTRY_AUTH_TOKEN_JWKS", settings.token_jwks, False))
    for name, path, bundle in sources:
        if path and not is_url(path):
            try:
                files = files.merged(read_keys(path, bundle))
            except ValueError as exc:
                raise ConfigError([f"{name}: {exc}"]) from None
    url = settings.token_jwks if settings.token_jwks and is_url(settings.token_jwks) else None
    if not url:
        return PublishedKeys(files)
    # The Index's own trust settings apply to a key URL on the Index (the default one).
    on_index = bool(settings.index_url) and _origin(url) == _origin(settings.index_url)
    return PublishedKeys(files, FetchedKeys(url, tls=index_tls(settings) if on_index else None))


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
