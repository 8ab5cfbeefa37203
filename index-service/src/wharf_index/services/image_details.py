"""What the tag page shows of an image: the Index's record, completed from the registry.

The Index records each manifest's digest, media type, size, config digest and layers from
the registries' events (services/events.py). The rest lives at the registry holding the
repository (services.registries.holders; the first one that answers), read with a
short-lived ``pull`` token the Index mints for itself (services/registry_agent.py):

- the manifest's JSON, by digest (the raw manifest; an index's platforms; a platform's
  manifest, OCI image-spec ``image-index.md`` / ``manifest.md``);
- the image config blob (entrypoint, cmd, env, labels...; OCI image-spec ``config.md``),
  at most 1 MiB (adapters/registry_http.py: never a layer);
- the referrers of the manifest shown (distribution-spec "Listing Referrers": signatures,
  SBOMs, each with its ``artifactType``).

Each document is kept in ``image_documents`` (migration 0024) per repository: manifests
and configs for good (a digest names its bytes), referrers lists for ``REFERRERS_TTL``
seconds (a new signature changes the list). A fetched index or config also records the
platforms the repository page's tags list shows (``manifests.platforms``, migration 0028).
A registry that cannot be reached or answers wrongly is no error here: the details carry
``unreachable`` and what the Index knows (an older referrers list, when one was kept, is
shown rather than none).

Visibility is the services' rule: a repository the principal may not see, and a tag or a
platform it does not have, are RepositoryNotFound / NotFound.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from wharf_protocol import jsondepth, mediatypes
from wharf_protocol.descriptors import is_size
from wharf_protocol.scopes import Scope

from ..domain import errors, platforms
from ..domain.model import Principal, Registry, Repository
from ..domain.records import ImageDocument, Layer, TagRecord
from . import registries, registry_agent
from .registry_agent import RegistryAgent
from .repositories import get_repository
from .unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

REFERRERS_TTL = 300  # seconds a kept referrers list is shown before the registry is asked again
MANIFEST, CONFIG, REFERRERS = "manifest", "config", "referrers"


@dataclass(frozen=True)
class Platform:
    """One manifest of an index: its platform (empty when unknown), digest and size."""

    digest: str
    size: int
    media_type: str
    os: str = ""
    architecture: str = ""
    variant: str = ""

    @property
    def label(self) -> str:
        """``linux/arm64/v8``; ``unknown`` without a platform (e.g. an attestation)."""
        parts = [p for p in (self.os, self.architecture, self.variant) if p]
        return "/".join(parts) or "unknown"


@dataclass(frozen=True)
class ImageConfig:
    """The fields of an image config the page shows (OCI image-spec config.md)."""

    architecture: str = ""
    os: str = ""
    variant: str = ""
    created: str = ""
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    env: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    working_dir: str = ""
    user: str = ""
    exposed_ports: tuple[str, ...] = ()


@dataclass(frozen=True)
class Referrer:
    """A manifest whose subject is the one shown (a signature, an SBOM...)."""

    artifact_type: str
    digest: str
    size: int
    media_type: str


@dataclass
class ImageDetails:
    """The tag page's content. ``digest``/``media_type``/``size`` are those of the manifest
    shown: the tag's, or the selected ``platform``'s of an index. ``manifest_json`` is the
    pretty-printed manifest (None: not fetched); ``config`` None: not known;
    ``referrers`` None: not known."""

    repository: Repository
    tag: TagRecord
    digest: str
    media_type: str
    size: int
    is_index: bool = False
    platforms: list[Platform] = field(default_factory=list)
    platform: Platform | None = None
    layers: tuple[Layer, ...] = ()
    config_digest: str | None = None
    config: ImageConfig | None = None
    manifest_json: str | None = None
    referrers: list[Referrer] | None = None
    unreachable: bool = False

    @property
    def layers_size(self) -> int:
        """Compressed bytes of the layers shown."""
        return sum(layer.size for layer in self.layers)


def tag_details(
    uow: UnitOfWork,
    agent: RegistryAgent,
    principal: Principal,
    full_name: str,
    tag: str,
    *,
    platform: str | None = None,
) -> ImageDetails:
    """The details of ``tag`` of ``full_name`` (with ``platform``: that manifest of the
    tag's index). Raises RepositoryNotFound, NotFound (tag; a platform not in the index)."""
    with uow:
        repository = get_repository(uow, principal, full_name)
        record = uow.tags.find(repository.id, tag)
    if record is None:
        raise errors.NotFound("tag", tag)
    fetcher = _Fetcher(uow, agent, repository)
    details = ImageDetails(repository, record, record.digest, record.media_type, record.size)
    document = fetcher.manifest(record.digest)
    if mediatypes.is_index(document.media_type if document else record.media_type):
        details.is_index = True
        details.platforms = _platforms(document) if document else _recorded_children(record)
        if platform is None:
            details.manifest_json = _pretty(document)
            details.referrers = fetcher.referrers(record.digest)
            details.unreachable = fetcher.failed
            return details
        chosen = next((p for p in details.platforms if p.digest == platform), None)
        if chosen is None:
            raise errors.NotFound("platform", platform)
        details.platform = chosen
        details.digest, details.media_type, details.size = (
            chosen.digest,
            chosen.media_type,
            chosen.size,
        )
        document = fetcher.manifest(chosen.digest)
        layers, config_digest = _image(document) if document else ((), None)
    elif platform is not None:
        raise errors.NotFound("platform", platform)
    elif document is not None:
        layers, config_digest = _image(document)
    else:
        layers, config_digest = record.layers, record.config_digest
    details.layers, details.config_digest = layers, config_digest
    details.manifest_json = _pretty(document)
    if config_digest:
        details.config = _config(fetcher.config(config_digest))
    details.referrers = fetcher.referrers(details.digest)
    details.unreachable = fetcher.failed
    return details


# -- fetching and keeping ---------------------------------------------------------------------


class _Fetcher:
    """Documents of one repository: kept ones first, else from its registry (module doc).
    After the first failure the registry is not asked again (``failed``)."""

    def __init__(self, uow: UnitOfWork, agent: RegistryAgent, repository: Repository) -> None:
        self.uow, self.agent, self.repository = uow, agent, repository
        self.failed = False
        self._target: tuple[Registry, str] | None = None

    def manifest(self, digest: str) -> ImageDocument | None:
        return self._document(MANIFEST, digest, self._fetch_manifest)

    def config(self, digest: str) -> ImageDocument | None:
        return self._document(CONFIG, digest, self._fetch_config)

    def referrers(self, digest: str) -> list[Referrer] | None:
        found = self._document(REFERRERS, digest, self._fetch_referrers, max_age=REFERRERS_TTL)
        return _referrers(found) if found else None

    def _fetch_manifest(self, registry: Registry, token: str, digest: str):
        return self.agent.http.manifest_document(registry, self._name, digest, token)

    def _fetch_config(self, registry: Registry, token: str, digest: str):
        body = self.agent.http.config_blob(registry, self._name, digest, token)
        return None if body is None else (body, "")

    def _fetch_referrers(self, registry: Registry, token: str, digest: str):
        found = self.agent.http.referrers(registry, self._name, digest, token)
        return json.dumps(found or []).encode(), mediatypes.OCI_INDEX

    @property
    def _name(self) -> str:
        return self.repository.full_name

    def _document(
        self,
        kind: str,
        digest: str,
        fetch: Callable[[Registry, str, str], tuple[bytes, str] | None],
        *,
        max_age: int | None = None,
    ) -> ImageDocument | None:
        with self.uow:
            kept = self.uow.image_documents.find(self.repository.id, kind, digest)
        if kept is not None and (max_age is None or _age(kept) < max_age):
            return kept
        target = self._registry()
        if target is None:
            return kept
        try:
            fetched = fetch(*target, digest)
        except (errors.RegistryUnavailable, errors.RegistryRefused) as exc:
            logger.warning("tag page: %s %s of %s: %s", kind, digest, self._name, exc)
            self.failed = True
            return kept
        if fetched is None:
            return None
        body, media_type = fetched
        document = ImageDocument(kind, digest, media_type, body, datetime.now(UTC))
        with self.uow:
            at = self.uow.image_documents.put(self.repository.id, kind, digest, media_type, body)
            self._record_platforms(document)
        return replace(document, fetched_at=at)

    def _record_platforms(self, document: ImageDocument) -> None:
        """What the tags list shows of a manifest, learnt from a document just fetched: an
        index's platforms, or those of the images built on a config (domain/platforms.py)."""
        if document.kind == MANIFEST and mediatypes.is_index(document.media_type):
            found = platforms.of_index(_json(document))
            self.uow.content.record_platforms(self.repository.id, found, digest=document.digest)
        elif document.kind == CONFIG:
            found = platforms.of_config(_json(document))
            self.uow.content.record_platforms(
                self.repository.id, found, config_digest=document.digest
            )

    def _registry(self) -> tuple[Registry, str] | None:
        """The registry holding the repository and a pull token for it (None: none)."""
        if self.failed:
            return None
        if self._target is None:
            holders = registries.holders(self.uow, self._name)
            if not holders:
                self.failed = True
                return None
            scope = Scope("repository", self._name, frozenset({"pull"}))
            token = registry_agent.mint(self.uow, self.agent, holders[0], (scope,))
            self._target = (holders[0], token)
        return self._target


def _age(document: ImageDocument) -> float:
    return (datetime.now(UTC) - document.fetched_at).total_seconds()


# -- reading the documents (OCI image-spec) -----------------------------------------------------


def _json(document: ImageDocument | None) -> dict:
    if document is None:
        return {}
    try:
        parsed = jsondepth.loads(document.body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _pretty(document: ImageDocument | None) -> str | None:
    if document is None:
        return None
    try:
        return json.dumps(jsondepth.loads(document.body), indent=2, ensure_ascii=False)
    except ValueError:
        return document.body.decode("utf-8", "replace")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _size(value: Any) -> int:
    return value if is_size(value) else 0


def _platforms(document: ImageDocument) -> list[Platform]:
    found = []
    for item in _json(document).get("manifests") or []:
        if not isinstance(item, dict):
            continue
        platform = item.get("platform") if isinstance(item.get("platform"), dict) else {}
        found.append(
            Platform(
                _text(item.get("digest")),
                _size(item.get("size")),
                _text(item.get("mediaType")),
                _text(platform.get("os")),
                _text(platform.get("architecture")),
                _text(platform.get("variant")),
            )
        )
    return found


def _recorded_children(record: TagRecord) -> list[Platform]:
    """An index's manifests as the Index recorded them (as its layers; no platforms)."""
    return [Platform(layer.digest, layer.size, layer.media_type) for layer in record.layers]


def _image(document: ImageDocument) -> tuple[tuple[Layer, ...], str | None]:
    body = _json(document)
    layers = tuple(
        Layer(_text(item.get("digest")), _size(item.get("size")), _text(item.get("mediaType")))
        for item in body.get("layers") or []
        if isinstance(item, dict)
    )
    config = body.get("config") if isinstance(body.get("config"), dict) else {}
    return layers, _text(config.get("digest")) or None


def _strings(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(str(item) for item in value)


def _config(document: ImageDocument | None) -> ImageConfig | None:
    if document is None:
        return None
    body = _json(document)
    run = body.get("config") if isinstance(body.get("config"), dict) else {}
    labels = run.get("Labels") if isinstance(run.get("Labels"), dict) else {}
    ports = run.get("ExposedPorts") if isinstance(run.get("ExposedPorts"), dict) else {}
    return ImageConfig(
        architecture=_text(body.get("architecture")),
        os=_text(body.get("os")),
        variant=_text(body.get("variant")),
        created=_text(body.get("created")),
        entrypoint=_strings(run.get("Entrypoint")),
        cmd=_strings(run.get("Cmd")),
        env=_strings(run.get("Env")) or (),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
        working_dir=_text(run.get("WorkingDir")),
        user=_text(run.get("User")),
        exposed_ports=tuple(sorted(str(port) for port in ports)),
    )


def _referrers(document: ImageDocument) -> list[Referrer]:
    try:
        items = jsondepth.loads(document.body)
    except ValueError:
        return []
    return [
        Referrer(
            _text(item.get("artifactType")),
            _text(item.get("digest")),
            _size(item.get("size")),
            _text(item.get("mediaType")),
        )
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict)
    ]
