"""The registry client's port: the calls the Index makes to registries itself (repository
and tag deletion, ``registry sync``), each with a token the Index minted for that registry,
and the one call without a token (the outbox status, public at every registry).

adapters/registry_http.py implements it over HTTP (the paths, pagination, retries and
error rules are described there); services/registry_agent.py carries one, given by the
composition root (context.py). Failures are the domain's RegistryUnavailable (network,
timeouts, 5xx after retries) and RegistryRefused (any other unexpected answer); tokens
never appear in them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from .model import Registry
from .records import OutboxStatus, RemoteManifest

CONFIG_LIMIT = 1024 * 1024  # bytes: an image config is a few KiB; a layer is never read


class RegistryClient(Protocol):
    def delete_repository(self, registry: Registry, name: str, token: str) -> None:
        """Have ``registry`` delete repository ``name``; return once it accepted."""

    def delete_tag(self, registry: Registry, name: str, tag: str, token: str) -> bool:
        """Have ``registry`` delete tag ``tag`` of ``name`` (the manifest stays); True when
        it deleted it, False when it had no such tag."""

    def catalog(self, registry: Registry, token: str) -> Iterator[str]:
        """Every repository name of the registry's catalog."""

    def tags(self, registry: Registry, name: str, token: str) -> list[str] | None:
        """Every tag of ``name`` (None: the registry does not know the repository)."""

    def manifest_digest(self, registry: Registry, name: str, tag: str, token: str) -> str | None:
        """The digest of a tag's manifest (None: unknown, or no digest given)."""

    def manifest(
        self, registry: Registry, name: str, tag: str, token: str
    ) -> RemoteManifest | None:
        """A tag's manifest, its digest checked against its body (None: unknown)."""

    def manifest_document(
        self, registry: Registry, name: str, digest: str, token: str
    ) -> tuple[bytes, str] | None:
        """The manifest ``digest`` as (bytes, media type), checked against the digest
        (None: unknown)."""

    def config_blob(
        self, registry: Registry, name: str, digest: str, token: str, limit: int = CONFIG_LIMIT
    ) -> bytes | None:
        """An image config blob of at most ``limit`` bytes (a default cap), checked against
        its digest (None: unknown)."""

    def referrers(
        self, registry: Registry, name: str, digest: str, token: str
    ) -> list[dict] | None:
        """Descriptors of the manifests whose subject is ``digest`` (None: no referrers
        API)."""

    def outbox_statuses(
        self, registries: Sequence[Registry], timeout: float
    ) -> dict[str, OutboxStatus]:
        """Each registry's outbox status by name, asked of all at once; within ``timeout``
        seconds in all, whatever they do (those without an answer by then: unreachable)."""
