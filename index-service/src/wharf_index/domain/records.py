"""Values the stores and the registry client return, besides the aggregates of model.py:
read models for one use each (tags as the API shows them, comments, the audit log), the
bookkeeping of tokens and deletions, and what ``registry sync`` compares.

Plain frozen values like model.py's; timestamps are timezone-aware UTC ``datetime``
objects. The stores that build them are in adapters/ (one per table group), the ports
that return them in domain/stores.py and domain/registry_client.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .model import Grants, Repository, TokenScope, User
from .platforms import ImagePlatform

# -- the image record (tags and manifests) ------------------------------------------------


@dataclass(frozen=True)
class Layer:
    digest: str
    size: int
    media_type: str


@dataclass(frozen=True)
class TagRecord:
    """A tag and the manifest it points at."""

    name: str
    digest: str
    media_type: str
    size: int
    config_digest: str | None
    layers: tuple[Layer, ...]
    pushed_by: str
    pushed_at: datetime
    pull_count: int
    last_pulled_at: datetime | None
    # The manifest's platforms (domain/platforms.py); None: not known.
    platforms: tuple[ImagePlatform, ...] | None = None

    @property
    def layers_size(self) -> int:
        """Compressed bytes of all layers (what a pull downloads at most)."""
        return sum(layer.size for layer in self.layers)


@dataclass(frozen=True)
class TagRules:
    """A repository's tag rules (services/tag_rules.py): ``immutable`` tag patterns and the
    retention rules -- keep the ``keep_newest`` newest tags, keep tags matching
    ``keep_patterns``, delete tags older than ``max_age_days`` (None: rule not set)."""

    immutable: tuple[str, ...] = ()
    keep_newest: int | None = None
    keep_patterns: tuple[str, ...] = ()
    max_age_days: int | None = None

    @property
    def has_retention(self) -> bool:
        """Tell whether a retention rule that deletes anything is set."""
        return self.keep_newest is not None or self.max_age_days is not None


@dataclass(frozen=True)
class RemoteManifest:
    """A manifest as a registry serves it, in the shape the content store records."""

    digest: str
    media_type: str
    size: int
    config_digest: str | None
    layers: list[dict]  # [{"digest", "size", "mediaType"}] in manifest order
    config_size: int | None = None
    platforms: tuple[ImagePlatform, ...] | None = None  # an index's; None: not known


@dataclass(frozen=True)
class OutboxStatus:
    """What a registry reports of its event outbox (its ``GET /status``).

    ``state``: ``ok`` (``pending`` objects, each one event or more, not yet delivered to
    every consumer, counted up to the registry's listing limit: ``capped``; the oldest
    ``oldest_age`` seconds old by the registry's clock), ``off`` (it keeps no outbox),
    ``down`` (its storage could not be listed), ``unknown`` (it answered, but not this
    report: another registry, or an older Wharf) or ``unreachable`` (no answer in time).
    """

    state: str
    pending: int = 0
    capped: bool = False
    oldest_age: float = 0.0


@dataclass(frozen=True)
class ImageDocument:
    """A document fetched from a registry and kept (``image_documents``): ``kind`` is
    ``manifest``, ``config`` or ``referrers`` (the list of the manifest ``digest``)."""

    kind: str
    digest: str
    media_type: str
    body: bytes
    fetched_at: datetime


@dataclass(frozen=True)
class QuotaState:
    """A namespace's storage quota as stored: ``chosen`` when an administrator set ``limit``
    (None: no quota); otherwise the default (INDEX_DEFAULT_NAMESPACE_QUOTA) applies.
    ``used``: bytes of the distinct blobs its recorded manifests reference."""

    namespace: str
    chosen: bool
    limit: int | None
    used: int


# -- people's records -----------------------------------------------------------------------


@dataclass(frozen=True)
class Comment:
    """A comment; ``author`` is None once its author's account was deleted."""

    id: int
    repository_id: int
    author_id: int | None
    author: str | None
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor_name: str
    action: str
    target_type: str
    target: str
    detail: dict


@dataclass(frozen=True)
class AuditRecord:
    """Every column of one audit row, as ``wharf-index audit export`` writes it."""

    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    target_type: str
    target: str
    namespace_id: int | None
    repository_id: int | None
    detail: dict
    request_id: str
    remote_addr: str


# -- the token authority's bookkeeping ------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    jti: str
    kind: str
    subject: str
    user_id: int | None
    access_token_id: int | None
    audience: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class CredentialState:
    """What a credential-cache hit is checked against."""

    user: User
    password_changed_at: datetime | None
    token_active: bool  # the access token exists, belongs to the user, is unrevoked/unexpired
    token_scopes: tuple[TokenScope, ...] | None
    locked_for: int = 0  # seconds left in the lock-out of the (name, address) asked about
    grants: Grants | None = None  # the user's roles, when asked for with the state


@dataclass(frozen=True)
class IssuanceLookup:
    """What a token request needs from the database besides the caller: the audience (the
    registry named by ``service``), the namespaces it declared serving (empty: all),
    those of the requested repositories that exist, by full name, whether the registry
    filters its catalog (Registry.filters_catalog), its kind (REGISTRY_KINDS) and the
    routes of the requested names' namespaces (namespace -> registry names, first first;
    policy.RegistryRules.routes)."""

    audience: str
    namespaces: frozenset[str]
    repositories: dict[str, Repository]
    catalog_filtered: bool
    kind: str
    routes: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Verification:
    """A registry (id, name, credential hash) and, when found, the issued-token record;
    ``wharf_known``: the registry's ``wharf_since`` is set (Registry.wharf_since)."""

    registry_id: int
    registry_name: str
    credential_hash: bytes
    token_kind: str | None
    token_audience: str | None
    token_revoked: bool
    token_expires_at: datetime | None
    wharf_known: bool = False


@dataclass(frozen=True)
class SigningKeyRecord:
    """A stored token signing key: ``private_pem`` is encrypted (services/signing_keys.py);
    ``retired_at`` and ``published_until`` are None while it is the active key."""

    kid: str
    algorithm: str
    private_pem: bytes
    certificate_pem: bytes
    created_at: datetime
    retired_at: datetime | None
    published_until: datetime | None


# -- deletions and reconciliation -----------------------------------------------------------


@dataclass(frozen=True)
class DeletionState:
    """The bookkeeping of one repository deletion in progress."""

    repository_id: int
    requested_by: str
    requested_at: datetime
    attempts: int
    last_attempt_at: datetime | None
    last_error: str | None
    next_attempt_at: datetime


@dataclass(frozen=True)
class RecordedRepository:
    id: int
    full_name: str


@dataclass(frozen=True)
class RecordedTag:
    name: str
    digest: str
    registry: str | None  # None: recorded without a registry (or that registry was removed)


# -- webhooks (migration 0014; services/webhooks.py) ----------------------------------------


@dataclass(frozen=True)
class Webhook:
    """A webhook as its managers see it (never its secret). ``repository_name`` None: a
    namespace webhook (every repository of ``namespace``); set with ``repository_id`` None:
    its repository was deleted and the row waits for its last deliveries."""

    id: int
    namespace_id: int
    namespace: str
    repository_id: int | None
    repository_name: str | None
    name: str
    url: str
    format: str
    events: tuple[str, ...]
    tag_pattern: str
    active: bool
    disabled_reason: str
    consecutive_failures: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def scope(self) -> str:
        """``repository`` or ``namespace``."""
        return "namespace" if self.repository_name is None else "repository"


@dataclass(frozen=True)
class WebhookAttempt:
    """One try at sending a delivery (``status_code`` None: no answer; ``error`` why)."""

    attempt: int
    at: datetime
    status_code: int | None
    duration_ms: int
    error: str
    response: str


@dataclass(frozen=True)
class WebhookCallback:
    """What a receiver posted to the delivery's callback URL."""

    state: str
    description: str
    context: str
    target_url: str
    at: datetime


@dataclass(frozen=True)
class WebhookDelivery:
    """A queued or finished delivery (``status`` pending, delivered or failed) and its
    attempts, newest first."""

    id: int
    delivery_id: str
    webhook_id: int
    event: str
    status: str
    attempt_count: int
    next_attempt_at: datetime
    created_at: datetime
    finished_at: datetime | None
    callback: WebhookCallback | None
    attempts: tuple[WebhookAttempt, ...] = ()


@dataclass(frozen=True)
class MetricsSnapshot:
    """What ``GET /metrics`` reads from the database when scraped (adapters/metrics.py)."""

    webhook_pending: int = 0
    webhook_oldest_pending_seconds: float = 0.0
    webhook_delivered_recently: int = 0
    webhook_failed_recently: int = 0
    webhook_lag_quantiles: tuple[float, ...] = ()  # 0.5, 0.95, 1.0 of the recent deliveries
    deletions_pending: int = 0
    deletion_oldest_seconds: float = 0.0
