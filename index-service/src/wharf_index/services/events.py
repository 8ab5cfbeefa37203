"""Ingest registry events (the reference registry's notification envelope) idempotently.

Delivery is at-least-once (the registry's outbox retries); the effect is exactly-once: each
event id is claimed in ``processed_events`` in the same transaction as its effect, and a
whole envelope is one transaction (all or nothing: a bad envelope applies nothing).

A registry speaks only for the namespaces it serves (domain.policy.registry_serves, the
rule token issuance uses: its declared namespaces, or every namespace when it declared
none). An event for a repository outside them is **refused**: claimed like any other (so a
replay is a duplicate, and the registry's outbox never retries it), not applied, logged at
WARNING and listed in the answer with its id and reason.

Effects (scenario B step 5, C step 5) of the events a registry may send:

- ``push`` of a manifest (media type a manifest or index type, or a ``tag`` present):
  records digest, media type, size, config and layers (from ``target.references``: the
  config is the reference with a config media type, or the first one of a single-image
  manifest; the others are the layers in order, or the child manifests of an index; an event
  without references records no layers), an index's platforms (its references'
  ``platform``, domain/platforms.py; not known when none carries one), the pusher
  (``actor.name``), the time (the event's timestamp) and the registry it came from, points
  ``tag`` at it, records that the registry holds the repository (``repository_registries``:
  services.registries.holders) and counts one push on the repository (``updated_at`` =
  now). The config's size is recorded with its digest; the namespace's storage use follows
  the manifest records by itself (database triggers, services/quotas.py). Blob pushes,
  mounts and blob pulls have no effect. The manifest is not looked for elsewhere: the
  registry sends the event after storing it, so it exists there.
- ``pull`` of a manifest: ``count`` pulls (Wharf's extension of the envelope, 1 when
  absent: a Wharf registry sends one event per target and actor per flush of its pull
  counter) on the repository and on the tag (or, by digest, the manifest), the tag's last
  pull at the event's timestamp (never moved back); not when the actor is the Index itself
  (``registry sync`` reads manifests it has no record of: that is no user's pull).
- Pull rate limits (when on: ``INDEX_PULL_LIMIT_*``, domain/pull_limits.py): the same
  manifest pulls, whether or not the repository is known here, count for their subject (the
  actor's account, or for an anonymous actor the client address ``request.addr``) in the
  window of the event's timestamp (never later than now), one upsert per subject and window
  per envelope, in subject order (two envelopes never wait on each other's rows in opposite
  orders); not the Index's own reads. Off: nothing is counted.
- ``delete`` with a ``tag``: the tag; with only a ``digest``: that manifest and its tags --
  in both cases only records that came from this registry or from none (another registry
  holding the same repository keeps what it holds).
- ``delete`` with only ``repository`` (the registry no longer holds it): the registry's
  holding and the manifests and tags that came from it. The repository record itself, with
  its stars, comments and webhooks, stays -- they belong to people, not to a registry --
  unless the repository is being deleted (scenario C, status ``deleting``) and no registry
  is left holding it: then every record goes (services.repositories.delete_repository), which
  finishes a deletion whose driver stopped after calling the registries.
- Webhooks (services/webhook_events.py): a ``push`` with a tag queues ``tag_pushed``
  deliveries (a push by digest only queues nothing), a ``delete`` of a tag that was removed
  queues ``tag_deleted``, so does the delete of a manifest for each tag it took along, a
  repository deleted here queues ``repository_deleted``; all in the
  envelope's transaction, so a failed envelope or a duplicate event queues nothing.
- Audit (services/audit.py, the ``audit_log`` table), in the envelope's transaction: a
  manifest push writes ``repository.push`` (target ``name:tag``, or ``name@digest`` for a
  push by digest; detail: digest, media type, size, registry, event id), a tag delete
  ``tag.delete`` (``name:tag``; not for a deletion the Index asked for with its own token,
  through its API or retention: that one is audited there, once, with its cause) and a
  manifest delete ``manifest.delete`` (``name@digest``;
  detail: ``{"by": "registry"}``, the registry, the tags it took along). The actor is the
  event's ``actor.name`` when that is a user of this Index (its id and name), otherwise none
  (an anonymous or htpasswd user of the registry: the name is kept in ``detail.actor``).
- Wharf's extension events (wharf_protocol.events, ``WHARF_ACTIONS``) are audit rows only:
  ``wharf.gc`` writes ``registry.gc`` (target: the registry; detail: the run's summary,
  snake_case keys) and is never refused (it concerns the whole registry);
  ``wharf.quota_refused`` writes ``quota.refused`` (target: the repository, its namespace and
  record when they exist; detail: the message, the registry) and follows the namespace rule
  above like any repository event.
- Unknown repositories: a push creates the repository when its namespace exists (with the
  namespace's default visibility, audited as the system); events for names without a
  namespace component or for unknown namespaces, and non-push events for unknown
  repositories, are acknowledged and ignored (logged at INFO), so the registry's outbox never
  jams on them.

Every event counts as ``accepted`` (applied or ignored), ``duplicates`` (seen before, or
repeated within the envelope) or ``refused``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass

from wharf_protocol import mediatypes
from wharf_protocol import names as protocol_names
from wharf_protocol.descriptors import MAX_SIZE
from wharf_protocol.digests import Digest, DigestInvalid
from wharf_protocol.events import (
    DELETE,
    GC,
    PULL,
    PUSH,
    QUOTA_REFUSED,
    Event,
    EventsInvalid,
    load_envelope,
)

from ..domain import errors, platforms, policy
from ..domain.model import SYSTEM, Registry, Repository
from . import metrics, webhook_events
from .repositories import create_repository, delete_repository
from .unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

CONFIG_TYPES = frozenset({mediatypes.OCI_CONFIG, mediatypes.DOCKER_CONFIG})


@dataclass(frozen=True)
class Refusal:
    """An event acknowledged but not applied, and why."""

    id: str
    reason: str


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    refused: tuple[Refusal, ...] = ()


def parse(body: bytes) -> list[Event]:
    """Load and check an envelope; raise EventsInvalid (nothing is applied then)."""
    events = load_envelope(body)
    problems = {}
    for index, event in enumerate(events):
        problem = None if event.action == GC else _problem(event.target)
        if problem:
            problems[index] = {"target": problem}
    if problems:
        raise EventsInvalid({"events": problems})
    return events


def _valid_digest(digest: str) -> bool:
    try:
        Digest.parse(digest)
    except DigestInvalid:
        return False
    return True


def _problem(target) -> dict | None:
    if not protocol_names.is_valid_repository_name(target.repository):
        return {"repository": ["invalid repository name"]}
    if target.tag and not protocol_names.is_valid_tag(target.tag):
        return {"tag": ["invalid tag"]}
    digests = [target.digest] if target.digest else []
    if not all(map(_valid_digest, digests + [r.digest for r in target.references])):
        return {"digest": ["unsupported or malformed digest"]}
    if sum(r.size for r in target.references) > MAX_SIZE:
        return {"references": ["the sizes add up to more than 2**63 - 1"]}
    return None


def ingest(uow: UnitOfWork, registry: Registry, events: list[Event]) -> IngestResult:
    """Apply each not yet processed event of ``events`` once, all in one transaction;
    refuse (claimed, not applied) those for namespaces ``registry`` does not serve."""
    accepted = duplicates = 0
    refused: list[Refusal] = []
    pulls: Counter[tuple[str, int, int]] = Counter()  # (subject, window, start) -> pulls
    applied: dict[str, int] = {}
    with uow:
        for event in events:
            if not uow.content.claim_event(event.id, registry.id, event.action):
                duplicates += 1
                continue
            reason = _refusal(registry, event)
            if reason:
                refused.append(Refusal(event.id, reason))
                logger.warning(
                    "event %s (%s %s) from registry %s refused: %s",
                    event.id,
                    event.action,
                    event.target.repository,
                    registry.name,
                    reason,
                )
                continue
            accepted += 1
            _apply(uow, registry, event)
            _count_for_limits(uow, event, pulls)
            applied[event.action] = applied.get(event.action, 0) + 1
        for (subject, window, start), count in sorted(pulls.items()):
            uow.pull_counts.add(subject, window, start, count)
    metrics.events_ingested(applied, len(refused), duplicates)  # committed: counted
    return IngestResult(accepted, duplicates, tuple(refused))


def _count_for_limits(uow: UnitOfWork, event: Event, pulls: Counter) -> None:
    """Add a manifest pull event's pulls to its subject's window in ``pulls`` (module doc)."""
    limits = uow.config.pull_limits
    if not limits.on or event.action != PULL or not _is_manifest(event):
        return
    name = event.actor.name
    if name == SYSTEM.name:
        return
    found = limits.for_account(name) if name else limits.for_address(event.request.addr)
    if found is None:
        return
    subject, rate = found
    start = rate.window_start(min(event.timestamp.timestamp(), time.time()))
    pulls[subject, rate.window, start] += event.count


def _refusal(registry: Registry, event: Event) -> str | None:
    if event.action == GC:
        return None  # about the registry as a whole, no namespace
    namespace = protocol_names.namespace_of(event.target.repository)
    if policy.registry_serves(registry.namespaces, namespace):
        return None
    return f"registry {registry.name} does not serve namespace {namespace}"


def _is_manifest(event: Event) -> bool:
    target = event.target
    media_type = target.media_type
    return bool(target.digest or target.tag) and (
        bool(target.tag) or mediatypes.is_manifest(media_type) or mediatypes.is_index(media_type)
    )


def _apply(uow: UnitOfWork, registry: Registry, event: Event) -> None:
    target = event.target
    if event.action == GC:
        _audit(uow, event, "registry.gc", "registry", registry.name, detail=_gc_detail(event))
        return
    if event.action == QUOTA_REFUSED:
        _quota_refused(uow, registry, event)
        return
    if event.action == DELETE and not target.digest and not target.tag:
        _repository_deleted(uow, registry, event)
        return
    if event.action == DELETE:
        relevant = bool(target.digest or target.tag)  # a blob digest matches no manifest
    else:
        relevant = event.action in (PUSH, PULL) and _is_manifest(event)
    if not relevant:
        return  # blobs and mounts: nothing to record
    # Locked first: a concurrent `registry sync` releasing this registry's holding waits.
    repository = uow.repositories.find(target.repository, for_update=True)
    if repository is None and event.action == PUSH:
        repository = _create(uow, event)
    if repository is None:
        _ignored(event, "repository unknown")
    elif event.action == PUSH:
        _record_push(uow, registry, repository, event)
    elif event.action == PULL:
        if event.actor.name != SYSTEM.name:  # registry sync's own reads are no user's pull
            uow.content.count_pull(
                repository.id,
                tag=target.tag,
                digest="" if target.tag else target.digest,
                at=event.timestamp,
                count=event.count,
            )
    elif target.tag:
        if uow.content.delete_tag(repository.id, target.tag, registry_id=registry.id):
            _tags_deleted(uow, registry, repository, event, [target.tag])
        # A deletion the Index asked for (its API, retention: tokens whose subject is the
        # Index itself) is audited there, once, with its cause.
        if event.actor.name != SYSTEM.name:
            _audit(
                uow,
                event,
                "tag.delete",
                "tag",
                f"{repository.full_name}:{target.tag}",
                repository=repository,
                detail={"by": "registry", "registry": registry.name},
            )
    else:
        tags = uow.content.delete_manifest(repository.id, target.digest, registry_id=registry.id)
        _tags_deleted(uow, registry, repository, event, tags or [])
        _audit(
            uow,
            event,
            "manifest.delete",
            "manifest",
            f"{repository.full_name}@{target.digest}",
            repository=repository,
            detail={"by": "registry", "registry": registry.name, "tags": sorted(tags or [])},
        )


def _audit(
    uow: UnitOfWork,
    event: Event,
    action: str,
    target_type: str,
    target: str,
    *,
    repository: Repository | None = None,
    namespace_id: int | None = None,
    detail: dict,
) -> None:
    """Append the audit row of ``event`` (see the module doc for the actor)."""
    name = event.actor.name
    user = uow.users.find(name) if name and name != SYSTEM.name else None
    if user is None and name:
        detail = {**detail, "actor": name}
    uow.audit.record(
        action,
        actor_id=user.id if user is not None else None,
        actor_name=user.username if user is not None else "",
        target_type=target_type,
        target=target,
        namespace_id=repository.namespace_id if repository is not None else namespace_id,
        repository_id=repository.id if repository is not None else None,
        detail={**detail, "event": event.id},
        request_id=event.request.id[:200],
    )


def _gc_detail(event: Event) -> dict:
    summary = event.target.summary
    return summary.to_dict() if summary is not None else {}


def _quota_refused(uow: UnitOfWork, registry: Registry, event: Event) -> None:
    name = event.target.repository
    repository = uow.repositories.find(name)
    namespace = None if repository else uow.namespaces.find(name.partition("/")[0])
    _audit(
        uow,
        event,
        "quota.refused",
        "repository",
        name,
        repository=repository,
        namespace_id=namespace.id if namespace is not None else None,
        detail={"message": event.target.message, "registry": registry.name},
    )


def _tags_deleted(
    uow: UnitOfWork, registry: Registry, repository: Repository, event: Event, tags: list[str]
) -> None:
    for tag in tags:
        webhook_events.tag_deleted(
            uow,
            repository,
            tag=tag,
            digest=event.target.digest,
            pusher=event.actor.name,
            at=event.timestamp,
            registry=registry.name,
        )


def _repository_deleted(uow: UnitOfWork, registry: Registry, event: Event) -> None:
    """The registry no longer holds the repository (see the module doc)."""
    repository = uow.repositories.find(event.target.repository, for_update=True)
    if repository is None:
        _ignored(event, "repository unknown")
        return
    uow.registries.release(repository.id, registry.id)
    uow.content.delete_registry_content(repository.id, registry.id)
    if repository.status == "deleting" and uow.registries.holder_count(repository.id) == 0:
        delete_repository(uow, repository.full_name, principal=SYSTEM)
    else:
        logger.info("registry %s no longer holds %s", registry.name, repository.full_name)


def _create(uow: UnitOfWork, event: Event) -> Repository | None:
    namespace, _, rest = event.target.repository.partition("/")
    if not rest or uow.namespaces.find(namespace) is None:
        return None
    try:
        return create_repository(uow, SYSTEM, event.target.repository)
    except (errors.RepositoryExists, errors.NameInvalid):
        return uow.repositories.find(event.target.repository)


def _split_references(event: Event) -> tuple[dict | None, list[dict]]:
    """The config reference (None for an index or without references) and the others."""
    references = [
        {"digest": r.digest, "size": r.size, "mediaType": r.media_type}
        for r in event.target.references
    ]
    if not references or mediatypes.is_index(event.target.media_type):
        return None, references
    for index, ref in enumerate(references):
        if ref["mediaType"] in CONFIG_TYPES:
            return ref, references[:index] + references[index + 1 :]
    return references[0], references[1:]


def _index_platforms(event: Event) -> tuple[platforms.ImagePlatform, ...] | None:
    """An index's platforms from its references (None: not an index, or a registry that
    sends no platforms: not known)."""
    references = event.target.references
    if not mediatypes.is_index(event.target.media_type) or not any(r.platform for r in references):
        return None
    return platforms.shown(
        platforms.platform_of(vars(r.platform)) if r.platform else None for r in references
    )


def _record_push(uow: UnitOfWork, registry: Registry, repository: Repository, event: Event) -> None:
    target = event.target
    if not target.digest:  # a tag without its digest cannot be recorded
        _ignored(event, "push without a digest")
        return
    config, layers = _split_references(event)
    size = target.size if target.size is not None else target.length or 0
    manifest_id = uow.content.put_manifest(
        repository.id,
        target.digest,
        media_type=target.media_type,
        size=size,
        config_digest=config["digest"] if config else None,
        config_size=config["size"] if config else None,
        layers=layers,
        platforms=_index_platforms(event),
        pushed_by=event.actor.name,
        pushed_at=event.timestamp,
        registry_id=registry.id,
    )
    if target.tag:
        uow.content.put_tag(
            repository.id,
            target.tag,
            manifest_id,
            pushed_by=event.actor.name,
            pushed_at=event.timestamp,
        )
    uow.registries.hold(repository.id, registry.id)
    uow.content.count_push(repository.id)
    _audit(
        uow,
        event,
        "repository.push",
        "repository",
        f"{repository.full_name}:{target.tag}"
        if target.tag
        else f"{repository.full_name}@{target.digest}",
        repository=repository,
        detail={
            "digest": target.digest,
            "media_type": target.media_type,
            "size": size,
            "registry": registry.name,
        },
    )
    if target.tag:
        webhook_events.tag_pushed(
            uow,
            repository,
            tag=target.tag,
            digest=target.digest,
            media_type=target.media_type,
            pusher=event.actor.name,
            at=event.timestamp,
            registry=registry.name,
        )


def _ignored(event: Event, why: str) -> None:
    logger.info(
        "event %s (%s %s) ignored: %s", event.id, event.action, event.target.repository, why
    )
