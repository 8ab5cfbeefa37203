"""What the services need from the settings, carried on the unit of work (``uow.config``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..domain.pull_limits import PullLimits
from .passwords import PasswordHasher


@dataclass(frozen=True)
class ServiceConfig:
    """Password hashing, login throttling, defaults, webhook needs and pull limits of the
    service layer."""

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
    # Pull rate limits (INDEX_PULL_LIMIT_*): off unless a rate is set.
    pull_limits: PullLimits = field(default_factory=PullLimits)
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
            pull_limits=PullLimits(
                settings.pull_limit_anonymous,
                settings.pull_limit_authenticated,
                frozenset(settings.pull_limit_exempt),
            ),
            default_namespace_quota=settings.default_namespace_quota,
        )
