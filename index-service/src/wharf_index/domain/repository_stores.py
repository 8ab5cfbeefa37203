"""The stores' ports for repositories and what hangs off them (the image record of tags
and manifests, stars, comments, search, deletions in progress, reconciliation with a
registry) and for the registry directory. Contracts as in domain/stores.py.

Repository reads that take a ``principal`` return only what it may see (status
``deleting`` hidden; token scopes are not applied: callers filter with
``policy.may_see``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from .model import Collaborator, Principal, Registry, Repository, Route
from .platforms import ImagePlatform
from .records import (
    Comment,
    ImageDocument,
    RecordedRepository,
    RecordedTag,
    TagRecord,
    TagRules,
    Webhook,
    WebhookDelivery,
)


class RepositoryStore(Protocol):
    """``uow.repositories``: repositories and their collaborators."""

    def create(
        self, namespace_id: int, namespace: str, name: str, visibility: str, description: str = ""
    ) -> Repository | None: ...
    def find(self, full_name: str, *, for_update: bool = False) -> Repository | None: ...
    def get(self, full_name: str) -> Repository: ...
    def find_many(self, full_names: list[str]) -> dict[str, Repository]:
        """``{full_name: repository}`` of those of ``full_names`` that exist."""

    def list_visible(
        self,
        principal: Principal,
        *,
        namespace_id: int | None = None,
        query: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[Repository]:
        """By full name; ``query`` matches a substring of the full name or description
        (LIKE wildcards in it are literal)."""

    def set_visibility(self, repository_id: int, visibility: str) -> None: ...
    def set_description(self, repository_id: int, description: str) -> None: ...

    def readme(self, repository_id: int) -> str:
        """The README (Markdown; '' when none): not part of Repository, so lists and
        search never read it."""

    def set_readme(self, repository_id: int, readme: str) -> None: ...
    def set_status(self, repository_id: int, status: str) -> None: ...
    def delete(self, repository_id: int) -> None:
        """Delete the repository and every record of it (tags, manifests, stars, ...)."""

    def set_collaborator(self, repository_id: int, user_id: int, role: str) -> None: ...
    def remove_collaborator(self, repository_id: int, user_id: int) -> bool: ...
    def collaborators(self, repository_id: int) -> list[Collaborator]: ...


class StarStore(Protocol):
    """``uow.stars``: who starred which repository."""

    def add(self, user_id: int, repository_id: int) -> bool: ...
    def remove(self, user_id: int, repository_id: int) -> bool: ...
    def has(self, user_id: int, repository_id: int) -> bool: ...
    def count(self, repository_id: int) -> int:
        """The repository's star count now."""

    def starred_by(
        self, user_id: int, principal: Principal, *, after: str | None, limit: int
    ) -> list[Repository]:
        """Repositories ``user_id`` starred that ``principal`` may see, by full name."""


class CommentStore(Protocol):
    """``uow.comments``: comments on repositories, oldest first."""

    def add(self, repository_id: int, author_id: int, body: str) -> Comment: ...
    def find(self, repository_id: int, comment_id: int) -> Comment | None: ...
    def list(self, repository_id: int, *, after_id: int | None, limit: int) -> list[Comment]: ...
    def update(self, comment_id: int, body: str) -> Comment | None: ...
    def delete(self, comment_id: int) -> bool: ...


class TagStore(Protocol):
    """``uow.tags``: the image record as the API reads it (tags with their manifests)."""

    def list(self, repository_id: int, *, after: str | None, limit: int) -> list[TagRecord]: ...
    def find(self, repository_id: int, name: str) -> TagRecord | None: ...
    def ages(self, repository_id: int) -> list[tuple[str, datetime]]:
        """(name, pushed at) of every tag of a repository, newest push first (ties by
        name)."""


class ImageDocumentStore(Protocol):
    """``uow.image_documents``: manifests, configs and referrers lists fetched from the
    registries for the tag page (content-addressed; referrers refreshed by age)."""

    def find(self, repository_id: int, kind: str, digest: str) -> ImageDocument | None: ...
    def put(
        self, repository_id: int, kind: str, digest: str, media_type: str, body: bytes
    ) -> datetime: ...


class TagRuleStore(Protocol):
    """``uow.tag_rules``: each repository's immutable tag patterns and retention rules."""

    def get(self, repository_id: int) -> TagRules:
        """The repository's rules (no rules when none were set)."""

    def many(self, repository_ids: list[int]) -> dict[int, TagRules]:
        """``{repository id: rules}`` of those of ``repository_ids`` that have rules."""

    def immutable_of(self, full_names: list[str]) -> dict[str, tuple[str, ...]]:
        """``{full name: immutable patterns}`` of those of ``full_names`` that have some."""

    def set_immutable(self, repository_id: int, patterns: tuple[str, ...]) -> None: ...
    def set_retention(
        self,
        repository_id: int,
        *,
        keep_newest: int | None,
        keep_patterns: tuple[str, ...],
        max_age_days: int | None,
    ) -> None: ...
    def with_retention(self) -> list[str]:
        """Full names of the active repositories with a retention rule set, by name."""


class SearchStore(Protocol):
    """``uow.search``: repository search over names and descriptions."""

    def search(
        self,
        principal: Principal,
        query: str,
        *,
        namespace_id: int | None,
        after: tuple[float, str] | None,
        limit: int,
    ) -> list[tuple[Repository, float]]:
        """(repository, rank) matching ``query`` (not empty), best first, after the key
        ``after`` = (rank, full name) of the previous page."""

    def page(
        self, principal: Principal, query: str, *, limit: int, offset: int
    ) -> tuple[list[Repository], int]:
        """([repository], total matches) of one page by full name; an empty
        ``query`` matches every repository ``principal`` may see."""

    def names(self, principal: Principal, *, after: str | None, limit: int) -> list[str]:
        """Full names of the repositories ``principal`` may see, sorted, after ``after``
        (the Index's ``/v2/_catalog``)."""


class ExploreStore(Protocol):
    """``uow.explore``: the home page's lists of public repositories, and last pushes."""

    def recently_pushed(self, limit: int, scan: int = 500) -> list[tuple[Repository, datetime]]:
        """(repository, last push) of public repositories, newest push first."""

    def most_starred(self, limit: int) -> list[Repository]:
        """Starred public repositories, most stars first."""

    def last_pushed(self, repository_ids: list[int]) -> dict[int, datetime]:
        """``{repository id: time of its newest tag push}`` for those with tags."""


class ContentStore(Protocol):
    """``uow.content``: the image record as registry events write it, processed event
    ids, pull and push counters."""

    def claim_event(self, event_id: str, registry_id: int, action: str) -> bool:
        """Record ``event_id`` as processed; False when it was processed before."""

    def prune_events(self, retention_seconds: int, limit: int) -> int:
        """Forget up to ``limit`` event ids processed more than ``retention_seconds`` ago;
        return how many."""

    def count_old_events(self, retention_seconds: int) -> int:
        """How many event ids :meth:`prune_events` would forget in all."""

    def put_manifest(
        self,
        repository_id: int,
        digest: str,
        *,
        media_type: str,
        size: int,
        config_digest: str | None,
        layers: list[dict],
        pushed_by: str,
        pushed_at: datetime,
        registry_id: int | None,
        config_size: int | None = None,
        platforms: tuple[ImagePlatform, ...] | None = None,
    ) -> int:
        """Insert or refresh a manifest record; return its id."""

    def record_platforms(
        self,
        repository_id: int,
        platforms: tuple[ImagePlatform, ...],
        *,
        digest: str | None = None,
        config_digest: str | None = None,
    ) -> None:
        """Record the platforms of the manifest ``digest``, or of the manifests whose config
        is ``config_digest`` and whose platforms are not known yet."""

    def put_tag(
        self,
        repository_id: int,
        name: str,
        manifest_id: int,
        *,
        pushed_by: str,
        pushed_at: datetime,
    ) -> None:
        """Point tag ``name`` at a manifest."""

    def delete_manifest(
        self, repository_id: int, digest: str, *, registry_id: int | None = None
    ) -> list[str] | None:
        """Delete a manifest and its tags; with ``registry_id`` only when it came from
        that registry or from none. Return the names of the tags deleted with it, or None
        when no manifest was deleted."""

    def delete_tag(self, repository_id: int, name: str, *, registry_id: int | None = None) -> bool:
        """Delete a tag; with ``registry_id`` only when its manifest came from that
        registry or from none."""

    def delete_registry_content(self, repository_id: int, registry_id: int) -> int:
        """Delete the manifests (and their tags) that came from a registry; how many."""

    def count_push(self, repository_id: int) -> None: ...
    def count_pull(
        self,
        repository_id: int,
        *,
        tag: str = "",
        digest: str = "",
        at: datetime | None = None,
        count: int = 1,
    ) -> None:
        """``count`` more pulls of the repository and of ``tag`` or else the manifest
        ``digest``; the tag's last pull becomes ``at`` unless it is later already."""

    def layer_checksums(self, repository_id: int) -> list[tuple[str, str]]:
        """(digest, media type) of the layers of the tagged manifests, each digest once."""


class RegistryStore(Protocol):
    """``uow.registries``: the registry directory and which registries hold what."""

    def create(
        self,
        name: str,
        url: str,
        kind: str,
        credential_hash: bytes,
        namespaces: tuple[str, ...],
        catalog: str = "auto",
        weight: int = 1,
        upstream_id: int | None = None,
    ) -> Registry | None: ...
    def get(self, name: str) -> Registry: ...
    def find(self, name: str) -> Registry | None: ...
    def with_hash(self, name: str) -> tuple[Registry, bytes] | None: ...
    def serving(self, namespace: str) -> list[Registry]:
        """The registries that declared ``namespace``."""

    def unrestricted(self) -> list[Registry]:
        """The registries that declared no namespace (they serve every one)."""

    def routed(self, namespace: str) -> list[Registry]:
        """The registries ``namespace`` is routed to, in route order (no route: [])."""

    def holding(self, full_name: str) -> list[Registry]:
        """The registries recorded as holding the repository ``full_name``."""

    def hold(self, repository_id: int, registry_id: int) -> None:
        """Record (or refresh) that the registry holds the repository."""

    def release(self, repository_id: int, registry_id: int) -> bool: ...
    def held_since(self, repository_id: int, registry_id: int, since: datetime) -> bool:
        """True when the holding was recorded or refreshed at or after ``since``."""

    def holder_count(self, repository_id: int) -> int: ...
    def last_events(self) -> dict[int, datetime]:
        """Registry id -> when an event it sent was last applied (while remembered)."""

    def set_credential_hash(self, registry_id: int, credential_hash: bytes) -> None: ...
    def set_catalog(self, registry_id: int, catalog: str) -> None: ...
    def set_kind(self, registry_id: int, kind: str) -> None: ...
    def set_weight(self, registry_id: int, weight: int) -> None: ...
    def set_upstream(self, registry_id: int, upstream_id: int | None) -> None: ...
    def note_wharf(self, registry_id: int) -> None:
        """Set ``wharf_since`` to now unless it is set."""

    def delete(self, registry_id: int) -> None: ...
    def list(self) -> list[Registry]: ...


class RoutingStore(Protocol):
    """``uow.routing``: namespace routes and the rotation's turn per repository."""

    def routes(self) -> list[Route]: ...
    def routed_namespaces(self, registry_id: int) -> list[str]: ...
    def set_route(self, namespace: str, registry_ids: list[int]) -> None:
        """Replace the route of ``namespace`` ([]: none)."""

    def take_turn(self, repository_id: int) -> int:
        """The repository's next turn (0, 1, 2...), counted as taken."""


class DeletionStore(Protocol):
    """``uow.deletions``: repository deletions in progress, with a lease per deletion."""

    def requested(self, repository_id: int, requested_by: str) -> None:
        """Record that a deletion was asked for (the first request's time is kept)."""

    def claim(self, repository_id: int, lease_seconds: int, *, force: bool = False) -> bool:
        """Take the lease for ``lease_seconds`` unless another driver holds it (``force``:
        take it anyway)."""

    def attempted(self, repository_id: int, error: str | None) -> None:
        """Count an attempt; a failed one (``error``) is due again at once."""

    def pending(self, *, due_only: bool = True, limit: int = 1000) -> list[str]:
        """Full names of the repositories being deleted (``due_only``: whose lease
        expired), oldest request first."""


class ReconciliationStore(Protocol):
    """``uow.reconciliation``: what ``registry sync`` compares with a registry."""

    def repositories(
        self, *, namespaces: list[str] | None = None, excluded: Sequence[str] = ()
    ) -> list[RecordedRepository]:
        """Active repositories by full name: in ``namespaces`` when given, else in every
        namespace not ``excluded``."""

    def held(self, registry_id: int) -> list[RecordedRepository]:
        """Active repositories recorded as held by the registry, by full name."""

    def now(self) -> datetime:
        """The database's time (the start of the transaction)."""

    def tags(self, repository_id: int) -> dict[str, RecordedTag]: ...
    def manifest_id(self, repository_id: int, digest: str) -> int | None: ...


class WebhookStore(Protocol):
    """``uow.webhooks``: webhooks, their delivery queue and log (migration 0014), as the
    services manage and fill them. The worker's side (sending, attempts) is elsewhere."""

    def create(self, namespace_id: int, repository: Repository | None, **values) -> Webhook:
        """Insert a webhook (``values``: name, url, format, events, tag_pattern,
        secret_sealed, created_by) for a repository, or for the namespace (None)."""

    def find(self, webhook_id: int, *, for_update: bool = False) -> Webhook | None: ...
    def list(
        self,
        *,
        namespace_id: int | None = None,
        repository_id: int | None = None,
        after_id: int | None,
        limit: int,
    ) -> list[Webhook]:
        """By id: a repository's webhooks, or (``namespace_id``) a namespace's own ones."""

    def update(self, webhook_id: int, **values) -> Webhook:
        """Set the given columns (url, name, events, tag_pattern, format, active,
        disabled_reason, consecutive_failures, secret_sealed) and ``updated_at``."""

    def delete(self, webhook_id: int) -> bool: ...
    def matching(self, namespace_id: int, repository_id: int, event: str) -> list[Webhook]:
        """The active webhooks of the repository and of its namespace subscribed to
        ``event`` (tag patterns are the caller's), by id."""

    def repository_counts(self, repository_id: int) -> tuple[int, int]:
        """(stars, comments) of a repository, for payloads."""

    def enqueue(
        self, webhook_id: int, delivery_id: str, event: str, body: str, callback_token: str
    ) -> WebhookDelivery:
        """Queue a pending delivery and notify ``wharf_webhooks`` (sent at commit)."""

    def deliveries(
        self, webhook_id: int, *, after_id: int | None, limit: int
    ) -> list[WebhookDelivery]:
        """A webhook's deliveries with their attempts, newest first (``after_id``: those
        older than that id)."""

    def find_delivery(self, webhook_id: int, delivery_id: str) -> WebhookDelivery | None: ...
    def redeliver(self, webhook_id: int, delivery_id: str) -> bool:
        """Put a finished delivery back in the queue, due now (False: unknown or pending)."""

    def record_callback(
        self, callback_token: str, state: str, description: str, context: str, target_url: str
    ) -> bool:
        """Record a receiver's result on the delivery of ``callback_token`` (False: none)."""

    def prune_deliveries(self, retention_seconds: int, limit: int) -> int:
        """Delete up to ``limit`` deliveries finished more than ``retention_seconds`` ago."""

    def count_old_deliveries(self, retention_seconds: int) -> int: ...
    def prune_orphans(self, limit: int) -> int:
        """Delete up to ``limit`` webhooks of deleted repositories with nothing pending."""

    def count_orphans(self) -> int: ...
