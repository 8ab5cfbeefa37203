"""Delete a tag of a repository here and at the registries holding it.

The flow (API ``DELETE /api/v1/repositories/<name>/-/tags/<tag>``, ``wharf-index tag
delete NAME:TAG``, retention: services/retention.py):

1. Check, in one transaction: the repository is visible to the caller (else
   RepositoryNotFound, as everywhere) and administered by them (policy.may_administer:
   the ``admin`` role, and for access tokens a scope naming ``admin``; else
   PermissionDenied), active, the tag is recorded (else NotFound), and it matches none of
   the repository's immutable patterns (else TagImmutable).
2. For each registry holding the repository (services.registries.holders) mint a 60 s
   token granting ``delete,pull`` on it with that registry as audience (as scenario C
   does), then ask each whether it serves the tag (``HEAD /v2/<name>/manifests/<tag>``):
   a registry that cannot be reached stops everything here, before anything was deleted
   anywhere (RegistryUnavailable, answered 503).
3. ``DELETE /v2/<name>/manifests/<tag>`` at each of them (OCI distribution-spec end-9,
   deleting a tag by reference: the manifest and the repository's other tags stay). A
   registry without the tag (404) counts as done, so repeating a deletion that failed
   half-way finishes it.
4. Once every registry answered, remove the tag record here, queue the ``tag_deleted``
   webhook deliveries and audit ``tag.delete``, in one transaction (had a registry's
   tag-delete event removed the record first, that event queued the deliveries: only the
   audit entry is written). The registries' tag-delete events arrive later
   (services/events.py) and find the tag gone: their ``delete_tag`` removes nothing and
   queues nothing, as for any duplicate, so event application stays idempotent and the
   webhooks are sent once. Had the Index stopped between steps 3 and 4, those events
   would remove the record themselves.

If a registry fails between its check (2) and its delete (3) -- it went away in that
moment -- the error is raised (503, or 502 when it refused) and the Index record stays;
registries that already deleted the tag answer 404 when the deletion is asked again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from wharf_protocol import names as protocol_names
from wharf_protocol.scopes import Scope

from ..domain import errors
from ..domain.model import Principal, Repository
from ..domain.records import TagRecord
from . import audit, registries, registry_agent, webhook_events
from .registry_agent import RegistryAgent
from .tag_rules import administered, matching_pattern
from .unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)


def delete_tag(
    uow: UnitOfWork,
    agent: RegistryAgent,
    principal: Principal,
    full_name: str,
    tag: str,
    *,
    detail: dict[str, Any] | None = None,
) -> TagRecord:
    """Delete ``tag`` of ``full_name`` at its registries, then here (module docstring);
    return the record deleted. ``detail`` is added to the audit entry's detail.

    Raises RepositoryNotFound, PermissionDenied, NotFound (tag), TagImmutable,
    RegistryUnavailable (nothing deleted anywhere when a registry was unreachable at the
    check), RegistryRefused.
    """
    repository, record = _checked(uow, principal, full_name, tag)
    holders = registries.holders(uow, full_name)
    scope = Scope("repository", full_name, frozenset({"delete", "pull"}))
    tokens = [registry_agent.mint(uow, agent, r, (scope,)) for r in holders]
    for registry, token in zip(holders, tokens, strict=True):
        agent.http.manifest_digest(registry, full_name, tag, token)  # reachable?
    for registry, token in zip(holders, tokens, strict=True):
        agent.http.delete_tag(registry, full_name, tag, token)
    with uow:
        current = uow.repositories.find(full_name, for_update=True)
        if current is None or current.id != repository.id:
            return record  # the repository went meanwhile: nothing left to remove
        if uow.content.delete_tag(current.id, tag):  # else a registry's event was first
            webhook_events.tag_deleted(
                uow,
                current,
                tag=tag,
                digest=record.digest,
                pusher=principal.user.username if principal.user is not None else "",
                at=datetime.now(UTC),
                registry=",".join(r.name for r in holders),
            )
        audit.record(
            uow,
            principal,
            "tag.delete",
            "tag",
            f"{full_name}:{tag}",
            namespace_id=current.namespace_id,
            repository_id=current.id,
            detail={"digest": record.digest, **(detail or {})},
        )
    logger.info("tag %s:%s deleted at %d registries", full_name, tag, len(holders))
    return record


def _checked(
    uow: UnitOfWork, principal: Principal, full_name: str, tag: str
) -> tuple[Repository, TagRecord]:
    with uow:
        repository = administered(uow, principal, full_name)
        if repository.status != "active":
            raise errors.RepositoryNotFound(full_name)
        record = uow.tags.find(repository.id, tag) if protocol_names.is_valid_tag(tag) else None
        if record is None:
            raise errors.NotFound("tag", tag)
        pattern = matching_pattern(uow.tag_rules.get(repository.id).immutable, tag)
        if pattern is not None:
            raise errors.TagImmutable(full_name, tag, pattern)
        return repository, record
