"""Delete a repository everywhere (scenario C; docs/architecture.md).

The flow, each step safe to repeat after a crash at any point:

1. :func:`request_deletion` (API ``DELETE /api/v1/repositories/<name>``, ``wharf-index repo
   delete``): services.repositories.mark_deleting (needs ``delete``, i.e. the repository's
   admins; outsiders of a private repository get RepositoryNotFound) sets status
   ``deleting`` -- from then on the token endpoint grants nothing but ``delete`` on it
   (domain.policy: no pull, no push; the original /v1/ DELETE hands that token to the
   client) and it is hidden from lists -- and a ``repository_deletions`` row records who
   asked; committed before anything else happens.
2. :func:`drive`: for each registry holding the repository (registries.holders) mint a
   60 s token granting ``delete,pull`` on ``repository:<name>`` with that registry as
   audience, record it (committed: the registry verifies it with the Index), and call
   ``DELETE <registry>/v2/_wharf/repositories/<name>``. The registry deletes its content
   and emits a repository-delete event (idempotent on its side: a repository already gone
   answers 202 and emits again).
3. When every registry answered 202 (or none holds it), remove every record here
   (services.repositories.delete_repository: tags, manifests, stars, comments, holdings,
   the repository; its webhooks stay detached until their ``repository_deleted``
   deliveries are sent) at once, so the caller's answer says "deleted". The
   registries' events arriving later (services/events.py) then find nothing: a no-op. If
   the Index crashed before this step, those events do the removal instead: each releases
   its registry's holding, and the one that leaves none removes the records.

A registry that is unreachable or refuses leaves the repository ``deleting`` with the
attempt counted and the error kept (``repository_deletions``); :func:`redrive` retries with
fresh tokens. It runs from ``wharf-index repo redrive`` and, in served Indexes, as the
housekeeping task ``deletion-redrive`` every ``INDEX_DELETION_REDRIVE_INTERVAL`` seconds
(services/housekeeping.py; a lease in ``repository_deletions`` also keeps two drivers from
driving the same deletion at once -- double calls would be harmless anyway).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from wharf_protocol.scopes import Scope

from ..domain.errors import RegistryCallFailed
from ..domain.model import SYSTEM, Principal, Repository
from . import registries, registry_agent, repositories
from .registry_agent import RegistryAgent
from .unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

LEASE_SECONDS = 60  # longer than one drive (tokens, calls with retries) takes
DELETING = "deleting"


@dataclass(frozen=True)
class DeletionResult:
    """Where one deletion stands: ``completed`` (records removed) or still ``deleting``."""

    repository: Repository
    completed: bool
    error: str | None = None

    @property
    def status(self) -> str:
        return "deleted" if self.completed else DELETING


def request_deletion(
    uow: UnitOfWork, agent: RegistryAgent, principal: Principal, full_name: str
) -> DeletionResult:
    """Mark ``full_name`` deleting, then drive the deletion once (steps 1-3 above).

    Raises RepositoryNotFound (unknown, or private and not visible to ``principal``),
    PermissionDenied (visible but no ``delete``). Registry failures are not raised: the
    result says ``deleting`` with the error, and the deletion is re-driven later.
    """
    with uow:
        marked = repositories.mark_deleting(uow, principal, full_name)
        uow.deletions.requested(marked.id, principal.name)
    return drive(uow, agent, marked, force=True)


def drive(
    uow: UnitOfWork, agent: RegistryAgent, repository: Repository, *, force: bool = False
) -> DeletionResult:
    """Call every registry holding ``repository``, then remove its records (idempotent).

    Without ``force`` a deletion another driver is working on (lease held) is left alone.
    """
    with uow:
        current = uow.repositories.find(repository.full_name)
        if not _same_deletion(current, repository):
            return DeletionResult(repository, completed=True)  # removed meanwhile (event)
        if not uow.deletions.claim(current.id, LEASE_SECONDS, force=force):
            return DeletionResult(current, completed=False, error="in progress elsewhere")
    scope = Scope("repository", current.full_name, frozenset({"delete", "pull"}))
    try:
        for registry in registries.holders(uow, current.full_name):
            token = registry_agent.mint(uow, agent, registry, (scope,))
            agent.http.delete_repository(registry, current.full_name, token)
    except RegistryCallFailed as exc:
        logger.warning("deletion of %s not finished: %s", current.full_name, exc)
        with uow:
            uow.deletions.attempted(current.id, str(exc))
        return DeletionResult(current, completed=False, error=str(exc))
    _remove_records(uow, current)
    logger.info("repository %s deleted", current.full_name)
    return DeletionResult(current, completed=True)


def redrive(
    uow: UnitOfWork, agent: RegistryAgent, *, due_only: bool = True
) -> list[DeletionResult]:
    """Drive every deletion stuck in ``deleting``; return their results.

    ``due_only`` (the thread) skips deletions whose lease is held; without it (the CLI)
    every one is driven now.
    """
    with uow:
        names = uow.deletions.pending(due_only=due_only)
    results = []
    for name in names:
        with uow:
            repository = uow.repositories.find(name)
        if repository is not None and repository.status == DELETING:
            results.append(drive(uow, agent, repository, force=not due_only))
    return results


def _same_deletion(current: Repository | None, marked: Repository) -> bool:
    """True while ``current`` is still the repository marked (not a re-allocated name)."""
    return current is not None and current.id == marked.id and current.status == DELETING


def _remove_records(uow: UnitOfWork, repository: Repository) -> None:
    with uow:
        current = uow.repositories.find(repository.full_name, for_update=True)
        if _same_deletion(current, repository):
            repositories.delete_repository(uow, repository.full_name, principal=SYSTEM)
