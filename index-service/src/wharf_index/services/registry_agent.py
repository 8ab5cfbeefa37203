"""The Index acting as a registry client (scenario C step 2, ``registry sync``).

:class:`RegistryAgent` holds what the Index needs to call registries itself: a token
issuer (the Index's active signing key and issuer name) and a registry client (the domain's
RegistryClient port; the composition root, context.py, gives it the HTTP client of
adapters/registry_http.py). :func:`mint` issues a short-lived token for one registry
(audience = its name) and records it in ``issued_tokens`` (kind ``access``, subject
``wharf-index``, no user) in its own committed transaction, so the registry's verification
call (``/internal/v1/tokens/verify``) finds it before the Index sends the request. These
tokens are minted directly, not through services.access: the Index is the authority and
acts for nobody in particular (the subject is the system), and a catalog scope or a pull
on a repository it has no record of must be grantable.

Which registries hold a repository is services.registries.holders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from wharf_protocol.scopes import Scope
from wharf_protocol.tokens import TokenIssuer

from ..domain.model import SYSTEM, Registry
from ..domain.registry_client import RegistryClient
from . import tokens
from .signing_keys import KeyRing
from .unit_of_work import UnitOfWork

TOKEN_TTL = 60  # seconds: long enough for one call with its retries, short if it leaks


@dataclass
class RegistryAgent:
    """The Index's registry-client kit: ``issuer`` (own keys), ``http``, ``token_ttl``."""

    issuer: TokenIssuer = field(repr=False)
    http: RegistryClient = field(repr=False)
    token_ttl: int = TOKEN_TTL

    @classmethod
    def from_settings(cls, settings, http: RegistryClient, keys: KeyRing) -> RegistryAgent:
        """The agent signing with the ``keys`` ring as the issuer named in ``settings``,
        calling registries through ``http``."""
        return cls(keys.issuer(settings.token_issuer, TOKEN_TTL), http)


def mint(uow: UnitOfWork, agent: RegistryAgent, registry: Registry, access: Iterable[Scope]) -> str:
    """Issue and record (committed) a token for ``registry`` granting ``access``."""
    token, claims = agent.issuer.issue(
        SYSTEM.name, registry.name, tuple(access), ttl=agent.token_ttl
    )
    with uow:
        tokens.record(uow, claims)
    return token
