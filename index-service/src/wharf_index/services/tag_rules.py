"""A repository's tag rules: immutable tag patterns and retention rules (its admins').

Patterns are wharf_protocol.policy's shell-style globs (``v*``, ``release-?``), matched
against the whole tag, case-sensitively; at most :data:`MAX_PATTERNS` per list.

Immutable tags are enforced in two places:

- at the registry, from the push and delete tokens the Index issues
  (services/token_policy.py puts the patterns of each repository a token may push to or
  delete from into its ``wharf`` claim): a manifest push that would move such a tag to
  another digest, and a delete of such a tag or of a manifest it points at, are refused.
  A change here reaches a registry with the next token a client gets: tokens already
  issued carry the patterns of their issue time for at most one token lifetime
  (``INDEX_TOKEN_TTL``);
- at the Index: tag deletion through the API and retention never delete such a tag
  (services/tag_deletion.py, services/retention.py).

Reading and changing the rules is administration (policy.may_administer); outsiders of a
private repository get RepositoryNotFound. Every change is audited.
"""

from __future__ import annotations

from wharf_protocol.policy import PolicyInvalid, check_tag_pattern, tag_matches

from ..domain import errors, policy
from ..domain.model import Principal, Repository
from ..domain.records import TagRules
from . import audit
from .unit_of_work import UnitOfWork

MAX_PATTERNS = 50
MAX_KEEP_NEWEST = 100_000
MAX_AGE_DAYS = 36_500


def check_patterns(field: str, patterns: object) -> tuple[str, ...]:
    """Return ``patterns`` as a tuple without duplicates (order kept); raise ValueInvalid
    naming ``field`` for anything but a list of at most MAX_PATTERNS valid patterns."""
    if not isinstance(patterns, list | tuple):
        raise errors.ValueInvalid(field, "a list of tag patterns")
    if len(patterns) > MAX_PATTERNS:
        raise errors.ValueInvalid(field, f"at most {MAX_PATTERNS} tag patterns")
    try:
        return tuple(dict.fromkeys(check_tag_pattern(p) for p in patterns))
    except PolicyInvalid as exc:
        raise errors.ValueInvalid(field, str(exc)) from None


def matching_pattern(patterns: tuple[str, ...], tag: str) -> str | None:
    """The first of ``patterns`` matching ``tag`` (None: it matches none)."""
    return next((p for p in patterns if tag_matches((p,), tag)), None)


def administered(
    uow: UnitOfWork, principal: Principal, full_name: str, *, for_update: bool = False
) -> Repository:
    """The repository if ``principal`` administers it; RepositoryNotFound when they may not
    see it (or it does not exist), PermissionDenied when they see it only."""
    repository = uow.repositories.find(full_name, for_update=for_update)
    if repository is None or not policy.may_see(principal, repository):
        raise errors.RepositoryNotFound(full_name)
    if not policy.may_administer(principal, repository):
        raise errors.PermissionDenied(f"you may not administer {full_name}")
    return repository


def get_rules(uow: UnitOfWork, principal: Principal, full_name: str) -> TagRules:
    """Return a repository's tag rules (its admins). Raises RepositoryNotFound,
    PermissionDenied."""
    with uow:
        return uow.tag_rules.get(administered(uow, principal, full_name).id)


def set_immutable(
    uow: UnitOfWork, principal: Principal, full_name: str, patterns: object
) -> TagRules:
    """Replace the repository's immutable tag patterns (its admins); return its rules."""
    checked = check_patterns("patterns", patterns)
    with uow:
        repository = administered(uow, principal, full_name, for_update=True)
        uow.tag_rules.set_immutable(repository.id, checked)
        audit.record(
            uow,
            principal,
            "repository.set_immutable_tags",
            "repository",
            full_name,
            namespace_id=repository.namespace_id,
            repository_id=repository.id,
            detail={"patterns": list(checked)},
        )
        return uow.tag_rules.get(repository.id)


def set_retention(
    uow: UnitOfWork,
    principal: Principal,
    full_name: str,
    *,
    keep_newest: int | None,
    keep_patterns: object,
    max_age_days: int | None,
) -> TagRules:
    """Replace the repository's retention rules (its admins); return its rules.

    ``keep_newest`` 0..MAX_KEEP_NEWEST or None; ``max_age_days`` 1..MAX_AGE_DAYS or None;
    both None turns retention off. How they combine: services/retention.py.
    """
    _check_number("keep_newest", keep_newest, 0, MAX_KEEP_NEWEST)
    _check_number("max_age_days", max_age_days, 1, MAX_AGE_DAYS)
    patterns = check_patterns("keep_patterns", keep_patterns)
    with uow:
        repository = administered(uow, principal, full_name, for_update=True)
        uow.tag_rules.set_retention(
            repository.id,
            keep_newest=keep_newest,
            keep_patterns=patterns,
            max_age_days=max_age_days,
        )
        audit.record(
            uow,
            principal,
            "repository.set_retention",
            "repository",
            full_name,
            namespace_id=repository.namespace_id,
            repository_id=repository.id,
            detail={
                "keep_newest": keep_newest,
                "keep_patterns": list(patterns),
                "max_age_days": max_age_days,
            },
        )
        return uow.tag_rules.get(repository.id)


def _check_number(field: str, value: object, low: int, high: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise errors.ValueInvalid(field, f"a whole number from {low} to {high}, or null")
