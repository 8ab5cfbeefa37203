"""Reconcile the Index's records with a registry (``wharf-index registry sync NAME``).

Events are delivered at least once, but records can still drift (events lost with a
registry's storage, an Index restored from an older backup, a registry that ran without
an Index for a while). :func:`sync` repairs that drift, reading the registry as a client
with tokens the Index mints itself (services/registry_agent.py; audience = the registry):

- the catalog (``registry:catalog:*``, paginated): repositories the registry has and the
  Index lacks get a record under their namespace (default visibility, created by the
  system); names whose namespace the Index does not know are reported, not created, and so
  are names in namespaces the registry does not serve (domain.policy.registry_serves: the
  rule its tokens and events obey); repositories being deleted are skipped (their
  deletion removes them at the registry);
- for every active repository of the registry's namespaces (its declared namespaces, or,
  for a registry without any, every namespace no other registry declared), every one it
  is recorded as holding and every one the catalog listed, the tags (``pull``, one token
  per batch of repositories):
  a tag the Index lacks or records at another digest is HEADed for its digest; when that
  manifest is not recorded yet, it is read (GET: media type, size, config, layers) and
  recorded; the tag is pointed at it. A tag the Index has and the registry lacks is removed
  (only if its manifest came from this registry or from no known one: another registry
  may serve it). A repository the catalog listed is recorded as held by the registry
  (``repository_registries``, services.registries.holders); one it lacks keeps its record
  (it may be freshly allocated and empty; stars and comments belong to people) but loses
  those tags and, when it was recorded as held there, the holding and every manifest that
  came from the registry -- unless a push event refreshed the holding after the sync
  started (the event wins).

Changes are planned from reads made outside any transaction, then applied per repository
in one transaction, each only if the tag is still as it was read, so an event ingested
meanwhile wins over the sync's older snapshot. ``dry_run`` plans and reports, changing no
record (the minted tokens are still recorded: the registry verifies them with the Index).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from wharf_protocol import names as protocol_names
from wharf_protocol.scopes import Scope

from ..domain import errors, policy
from ..domain.model import SYSTEM, Registry
from ..domain.records import RecordedTag, RemoteManifest
from . import registry_agent
from .registry_agent import RegistryAgent
from .repositories import create_repository
from .unit_of_work import UnitOfWork

BATCH = 50  # repositories per pull token (keeps the Authorization header small)
CATALOG = Scope("registry", "catalog", frozenset({"*"}))


@dataclass
class SyncReport:
    """What :func:`sync` found (and, unless ``dry_run``, changed). Tags are ``name:tag``."""

    registry: str
    dry_run: bool = False
    repositories_added: list[str] = field(default_factory=list)
    tags_added: list[str] = field(default_factory=list)
    tags_updated: list[str] = field(default_factory=list)
    tags_removed: list[str] = field(default_factory=list)
    repositories_released: list[str] = field(default_factory=list)  # no longer held there
    unknown_namespaces: list[str] = field(default_factory=list)  # repository names
    not_served: list[str] = field(default_factory=list)  # outside the registry's namespaces

    def summary(self) -> str:
        text = (
            f"registry {self.registry}: {len(self.repositories_added)} repositories added,"
            f" {len(self.tags_added)} tags added, {len(self.tags_updated)} updated,"
            f" {len(self.tags_removed)} removed"
        )
        if self.repositories_released:
            text += f"; {len(self.repositories_released)} repositories no longer held there"
        if self.unknown_namespaces:
            text += f"; {len(self.unknown_namespaces)} repositories in unknown namespaces"
        if self.not_served:
            text += f"; {len(self.not_served)} repositories in namespaces it does not serve"
        return text + (" (dry run: nothing changed)" if self.dry_run else "")

    def lines(self) -> list[str]:
        """One line per change, for the CLI."""
        return (
            [f"+ repository {n}" for n in self.repositories_added]
            + [f"+ tag {t}" for t in self.tags_added]
            + [f"~ tag {t}" for t in self.tags_updated]
            + [f"- tag {t}" for t in self.tags_removed]
            + [f"- holding {n} (the registry no longer has it)" for n in self.repositories_released]
            + [f"? {n} (namespace unknown to the Index)" for n in self.unknown_namespaces]
            + [f"! {n} (namespace not served by the registry)" for n in self.not_served]
        )


@dataclass(frozen=True)
class _Change:
    tag: str
    was: str | None  # the recorded digest the plan was made from (None: no tag)
    digest: str | None  # the registry's digest (None: remove the tag)
    manifest: RemoteManifest | None = None  # to record first, when not recorded yet


def sync(uow: UnitOfWork, agent: RegistryAgent, name: str, *, dry_run: bool = False) -> SyncReport:
    """Compare registry ``name`` with the records and repair them (see module doc).

    Raises RegistryNotFound, RegistryUnavailable / RegistryRefused (nothing further is
    changed; repositories already repaired stay repaired).
    """
    report = SyncReport(name, dry_run)
    with uow:
        started = uow.reconciliation.now()
        registry = uow.registries.get(name)
        declared = [n for r in uow.registries.list() if r.name != name for n in r.namespaces]
        recorded = uow.reconciliation.repositories(
            namespaces=list(registry.namespaces) or None,
            excluded=[] if registry.namespaces else declared,
        )
        held = {r.full_name: r.id for r in uow.reconciliation.held(registry.id)}
    names = {r.full_name: r.id for r in recorded} | held
    token = registry_agent.mint(uow, agent, registry, (CATALOG,))
    listed = set()
    for full_name in agent.http.catalog(registry, token):
        listed.add(full_name)
        if full_name not in names:
            _adopt(uow, registry, full_name, names, report)
    ordered = sorted(names)
    for start in range(0, len(ordered), BATCH):
        batch = ordered[start : start + BATCH]
        pull = [Scope("repository", n, frozenset({"pull"})) for n in batch]
        token = registry_agent.mint(uow, agent, registry, pull)
        for full_name in batch:
            # Only holdings recorded before the namespace rule can be outside it: released.
            served = policy.registry_serves(registry.namespaces, _namespace(full_name))
            if served:
                _sync_repository(uow, agent, registry, token, full_name, names[full_name], report)
            if served and full_name in listed:
                _hold(uow, registry, names[full_name], report)
            elif full_name in held:
                _release(uow, registry, full_name, started, report)
    return report


def _namespace(full_name: str) -> str:
    return full_name.partition("/")[0]


def _hold(
    uow: UnitOfWork, registry: Registry, repository_id: int | None, report: SyncReport
) -> None:
    if repository_id is not None and not report.dry_run:
        with uow:
            uow.registries.hold(repository_id, registry.id)


def _release(
    uow: UnitOfWork, registry: Registry, full_name: str, started, report: SyncReport
) -> None:
    """The registry lacks a repository it is recorded as holding: forget the holding and
    what came from it, unless a push event refreshed the holding since ``started``."""
    if report.dry_run:
        report.repositories_released.append(full_name)
        return
    with uow:
        repository = uow.repositories.find(full_name, for_update=True)  # events wait
        if repository is None or uow.registries.held_since(repository.id, registry.id, started):
            return
        if uow.registries.release(repository.id, registry.id):
            uow.content.delete_registry_content(repository.id, registry.id)
            report.repositories_released.append(full_name)


def _adopt(
    uow: UnitOfWork, registry: Registry, full_name: str, names: dict, report: SyncReport
) -> None:
    """Take a catalog name the sync's scope lacks into ``names`` (creating its record)."""
    namespace, _, rest = full_name.partition("/")
    with uow:
        existing = uow.repositories.find(full_name)
        if existing is not None:
            if existing.status == "active":
                names[full_name] = existing.id
            return
        if (
            not rest
            or not protocol_names.is_valid_repository_name(full_name)
            or uow.namespaces.find(namespace) is None
        ):
            report.unknown_namespaces.append(full_name)
            return
        if not policy.registry_serves(registry.namespaces, namespace):
            report.not_served.append(full_name)
            return
        report.repositories_added.append(full_name)
        if report.dry_run:
            names[full_name] = None
            return
        try:
            names[full_name] = create_repository(uow, SYSTEM, full_name).id
        except errors.RepositoryExists:  # created concurrently (an event): take it
            names[full_name] = uow.repositories.get(full_name).id


def _sync_repository(
    uow: UnitOfWork,
    agent: RegistryAgent,
    registry: Registry,
    token: str,
    full_name: str,
    repository_id: int | None,
    report: SyncReport,
) -> None:
    recorded: dict[str, RecordedTag] = {}
    if repository_id is not None:
        with uow:
            recorded = uow.reconciliation.tags(repository_id)
    remote = agent.http.tags(registry, full_name, token) or []
    changes = _plan(
        uow,
        agent,
        registry,
        token,
        full_name,
        repository_id,
        recorded,
        remote,
        fetch=not report.dry_run,
    )
    for change in changes:
        label = f"{full_name}:{change.tag}"
        if change.digest is None:
            report.tags_removed.append(label)
        else:
            (report.tags_updated if change.was else report.tags_added).append(label)
    if changes and not report.dry_run:
        _apply(uow, registry, repository_id, changes)


def _plan(
    uow: UnitOfWork,
    agent: RegistryAgent,
    registry: Registry,
    token: str,
    full_name: str,
    repository_id: int | None,
    recorded: dict[str, RecordedTag],
    remote: list[str],
    *,
    fetch: bool,
) -> list[_Change]:
    """Changes that make ``recorded`` match ``remote``; manifests the Index has not
    recorded are read when ``fetch`` (not in a dry run)."""
    changes = []
    for tag in sorted(set(remote)):
        was = recorded[tag].digest if tag in recorded else None
        digest = agent.http.manifest_digest(registry, full_name, tag, token)
        if digest is not None and digest == was:
            continue
        manifest = None
        if fetch and not (digest and _has_manifest(uow, repository_id, digest)):
            manifest = agent.http.manifest(registry, full_name, tag, token)
            if manifest is None or manifest.digest == was:
                continue  # deleted meanwhile, or HEAD and GET raced a push
            digest = manifest.digest
        changes.append(_Change(tag, was, digest or "?", manifest))
    for tag, record in sorted(recorded.items()):
        if tag not in remote and record.registry in (None, registry.name):
            changes.append(_Change(tag, record.digest, None))
    return changes


def _has_manifest(uow: UnitOfWork, repository_id: int | None, digest: str) -> bool:
    if repository_id is None:
        return False
    with uow:
        return uow.reconciliation.manifest_id(repository_id, digest) is not None


def _apply(uow: UnitOfWork, registry: Registry, repository_id: int, changes: list[_Change]) -> None:
    now = datetime.now(UTC)
    with uow:
        current = uow.reconciliation.tags(repository_id)
        for change in changes:
            if (current[change.tag].digest if change.tag in current else None) != change.was:
                continue  # an event changed the tag since it was read: the event wins
            if change.digest is None:
                uow.content.delete_tag(repository_id, change.tag)
                continue
            manifest_id = uow.reconciliation.manifest_id(repository_id, change.digest)
            if manifest_id is None and change.manifest is not None:
                m = change.manifest
                manifest_id = uow.content.put_manifest(
                    repository_id,
                    m.digest,
                    media_type=m.media_type,
                    size=m.size,
                    config_digest=m.config_digest,
                    config_size=m.config_size,
                    layers=m.layers,
                    platforms=m.platforms,
                    pushed_by="",
                    pushed_at=now,
                    registry_id=registry.id,
                )
            if manifest_id is not None:
                uow.content.put_tag(
                    repository_id, change.tag, manifest_id, pushed_by="", pushed_at=now
                )
