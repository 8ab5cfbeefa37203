"""What the services need from the settings, carried on the unit of work (``uow.config``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .passwords import PasswordHasher


@dataclass(frozen=True)
class ServiceConfig:
    """Password hashing, login throttling, defaults and webhook needs of the service layer."""

    hasher: PasswordHasher = field(default_factory=PasswordHasher)
    default_visibility: str = "private"
    throttle_failures: int = 5
    throttle_delay: int = 2
    throttle_max_delay: int = 900
    # The Index's own service name (INDEX_TOKEN_ISSUER): no registry may take it.
    index_service: str = "wharf-index"
    # Webhooks: the Index's public URL (payload links, callback URLs), the key their
    # secrets are sealed with (INDEX_SECRET_KEY), the networks they may reach anyway.
    public_url: str = "http://127.0.0.1:5001"
    secret_key: str = field(default="", repr=False)
    webhook_allowed_networks: tuple = ()
    # Storage quotas: the limit of namespaces without one of their own (None: no quota).
    default_namespace_quota: int | None = None

    @classmethod
    def from_settings(cls, settings) -> ServiceConfig:
        return cls(
            hasher=PasswordHasher(n=settings.password_scrypt_n),
            default_visibility=settings.default_visibility,
            throttle_failures=settings.login_throttle_failures,
            throttle_delay=settings.login_throttle_delay,
            throttle_max_delay=settings.login_throttle_max_delay,
            index_service=settings.token_issuer,
            public_url=settings.public_url,
            secret_key=settings.secret_key,
            webhook_allowed_networks=settings.webhook_allowed_networks,
            default_namespace_quota=settings.default_namespace_quota,
        )
