"""What the services need from the settings, carried on the unit of work (``uow.config``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .passwords import PasswordHasher


@dataclass(frozen=True)
class ServiceConfig:
    """Password hashing, login throttling and defaults for the service layer."""

    hasher: PasswordHasher = field(default_factory=PasswordHasher)
    default_visibility: str = "private"
    throttle_failures: int = 5
    throttle_delay: int = 2
    throttle_max_delay: int = 900
    # The Index's own service name (INDEX_TOKEN_ISSUER): no registry may take it.
    index_service: str = "wharf-index"

    @classmethod
    def from_settings(cls, settings) -> ServiceConfig:
        return cls(
            hasher=PasswordHasher(n=settings.password_scrypt_n),
            default_visibility=settings.default_visibility,
            throttle_failures=settings.login_throttle_failures,
            throttle_delay=settings.login_throttle_delay,
            throttle_max_delay=settings.login_throttle_max_delay,
            index_service=settings.token_issuer,
        )
