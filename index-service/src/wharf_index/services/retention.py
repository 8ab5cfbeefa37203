"""Retention: delete the tags a repository's retention rules no longer keep.

A repository's rules (services/tag_rules.py; none set: every tag is kept):

- ``keep_newest`` N: keep the N most recently pushed tags, counted among the tags no
  pattern keeps (immutable or ``keep_patterns``): a repository whose releases match
  ``keep_patterns`` keeps them all *and* its N newest other tags;
- ``keep_patterns``: keep every tag matching one of them;
- ``max_age_days`` D: a tag pushed more than D days ago may go.

How they combine: a tag is deleted when no keep rule keeps it and every deleting rule that
is set agrees -- with only ``keep_newest`` set, every tag beyond the N newest goes; with
only ``max_age_days``, every tag older than D days; with both, a tag goes when it is
beyond the N newest *and* older than D days (so N tags are always left, however old).
``keep_patterns`` alone deletes nothing. Tags matching an immutable pattern are never
deleted, whatever the rules. "Pushed" is the time the tag was last pushed (pointed at its
manifest), as the registry's push event recorded it; ties are broken by tag name.

:func:`preview` lists what would be deleted now (the API's dry run); :func:`run` deletes
it through services/tag_deletion.py (registries first, then the record, one audit entry
``tag.delete`` with ``{"by": "retention", "rules": ...}`` per tag), for every repository
with a rule set, at most ``limit`` tags per run (the next run goes on). It runs as the
served Index's housekeeping task ``retention`` every ``INDEX_RETENTION_INTERVAL`` seconds
(services/housekeeping.py) and from ``wharf-index tag retention``. A registry that cannot
be reached stops that repository's deletions for this run (logged); the next run retries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from wharf_protocol.policy import tag_matches

from ..domain import errors
from ..domain.model import SYSTEM, Principal
from ..domain.records import TagRules
from . import tag_deletion
from .registry_agent import RegistryAgent
from .tag_rules import get_rules
from .unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

MAX_DELETIONS_PER_RUN = 1000


@dataclass(frozen=True)
class Expired:
    """A tag retention would delete: its name, when it was pushed, and why."""

    tag: str
    pushed_at: datetime
    rules: tuple[str, ...]  # the deleting rules that agree: keep_newest, max_age_days


@dataclass
class RetentionReport:
    """What one :func:`run` did: tags deleted (``repository:tag``) and failures."""

    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # repository -> error

    def lines(self) -> list[str]:
        lines = [f"deleted {name}" for name in self.deleted]
        lines += [f"not finished {name}: {error}" for name, error in self.failed.items()]
        return lines + [f"{len(self.deleted)} tags deleted, {len(self.failed)} repositories failed"]


def expired(rules: TagRules, ages: list[tuple[str, datetime]], now: datetime) -> list[Expired]:
    """The tags of ``ages`` ((name, pushed at), newest first) ``rules`` delete at ``now``
    (module docstring), in that order."""
    if not rules.has_retention:
        return []
    reasons = tuple(
        name
        for name, value in (
            ("keep_newest", rules.keep_newest),
            ("max_age_days", rules.max_age_days),
        )
        if value is not None
    )
    cutoff = now - timedelta(days=rules.max_age_days) if rules.max_age_days is not None else None
    unkept = [
        (name, pushed)
        for name, pushed in ages
        if not tag_matches(rules.immutable, name) and not tag_matches(rules.keep_patterns, name)
    ]
    newest = rules.keep_newest if rules.keep_newest is not None else 0
    return [
        Expired(name, pushed, reasons)
        for rank, (name, pushed) in enumerate(unkept)
        if rank >= newest and (cutoff is None or pushed < cutoff)
    ]


def preview(
    uow: UnitOfWork, principal: Principal, full_name: str, *, now: datetime | None = None
) -> list[Expired]:
    """What retention would delete in ``full_name`` now (its admins: the dry run).
    Raises RepositoryNotFound, PermissionDenied."""
    with uow:
        rules = get_rules(uow, principal, full_name)
        repository = uow.repositories.get(full_name)
        ages = uow.tags.ages(repository.id)
    return expired(rules, ages, now or datetime.now(UTC))


def preview_all(uow: UnitOfWork, *, now: datetime | None = None) -> list[tuple[str, Expired]]:
    """(repository, tag) pairs retention would delete now in every repository with a rule
    (the operator's dry run, ``wharf-index tag retention --dry-run``)."""
    with uow.reading():
        names = uow.tag_rules.with_retention()
    return [(name, item) for name in names for item in preview(uow, SYSTEM, name, now=now)]


def run(
    uow: UnitOfWork,
    agent: RegistryAgent,
    *,
    now: datetime | None = None,
    limit: int = MAX_DELETIONS_PER_RUN,
) -> RetentionReport:
    """Delete what retention deletes in every repository with a rule set (module doc)."""
    report = RetentionReport()
    with uow.reading():
        names = uow.tag_rules.with_retention()
    for full_name in names:
        if len(report.deleted) >= limit:
            break
        with uow.reading():
            repository = uow.repositories.find(full_name)
            if repository is None:
                continue  # deleted meanwhile
            rules = uow.tag_rules.get(repository.id)
            gone = expired(rules, uow.tags.ages(repository.id), now or datetime.now(UTC))
        detail = {
            "by": "retention",
            "rules": {
                "keep_newest": rules.keep_newest,
                "keep_patterns": list(rules.keep_patterns),
                "max_age_days": rules.max_age_days,
            },
        }
        for item in gone[: limit - len(report.deleted)]:
            try:
                tag_deletion.delete_tag(
                    uow, agent, SYSTEM, full_name, item.tag, detail={**detail, "rule": item.rules}
                )
            except (errors.NotFound, errors.TagImmutable):
                continue  # gone or made immutable since the plan: nothing to do
            except errors.RegistryCallFailed as exc:
                logger.warning("retention in %s not finished: %s", full_name, exc)
                report.failed[full_name] = str(exc)
                break
            report.deleted.append(f"{full_name}:{item.tag}")
    if report.deleted or report.failed:
        logger.info(
            "retention: %d tags deleted, %d repositories failed",
            len(report.deleted),
            len(report.failed),
        )
    return report
