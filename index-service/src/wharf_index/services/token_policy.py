"""The policy a registry token carries (:mod:`wharf_protocol.policy`): decided here, at issue.

The registry enforces it without calling the Index, so each part is read in the
transaction that grants the token and holds only what the granted scopes need. A change of
policy reaches a registry with the next token: at most one token lifetime later.
"""

from __future__ import annotations

import time

from wharf_protocol.names import namespace_of
from wharf_protocol.policy import NamespaceQuota, Policy, PullLimit, RepositoryPolicy
from wharf_protocol.scopes import Scope

from ..domain import errors
from ..domain.model import Principal
from .quotas import token_quotas
from .unit_of_work import UnitOfWork

_WRITE_ACTIONS = frozenset({"push", "delete", "*"})


def policy_for(uow: UnitOfWork, principal: Principal, granted: tuple[Scope, ...]) -> Policy:
    """Return the policy for a token granting ``granted`` to ``principal`` (in ``uow``)."""
    return Policy(
        repositories=_repository_rules(uow, granted),
        quotas=_quotas(uow, granted),
        pulls=_pull_limit(uow, principal, granted),
    )


def _repository_rules(uow: UnitOfWork, granted: tuple[Scope, ...]) -> dict[str, RepositoryPolicy]:
    """Immutable tag patterns of the repositories ``granted`` may push to or delete from
    (services/tag_rules.py); repositories without patterns are left out (no rules)."""
    names = [s.name for s in granted if s.type == "repository" and s.actions & _WRITE_ACTIONS]
    if not names:
        return {}
    found = uow.tag_rules.immutable_of(names)
    return {name: RepositoryPolicy(patterns) for name, patterns in found.items()}


def _quotas(uow: UnitOfWork, granted: tuple[Scope, ...]) -> dict[str, NamespaceQuota]:
    """Quotas of the namespaces ``granted`` may push to (services/quotas.py): one prepared
    statement when some scope grants push, none otherwise (pulls never pay for quotas)."""
    pushed = {
        namespace_of(scope.name)
        for scope in granted
        if scope.type == "repository" and "push" in scope.actions
    }
    return token_quotas(uow, pushed) if pushed else {}


def _pull_limit(
    uow: UnitOfWork, principal: Principal, granted: tuple[Scope, ...]
) -> PullLimit | None:
    """The caller's pull rate limit, when pull limits are on and ``granted`` may pull.

    Off (no ``INDEX_PULL_LIMIT_*``): None without a query. Administrators, the Index itself
    and ``INDEX_PULL_LIMIT_EXEMPT`` users have no limit; other users are counted by account,
    anonymous callers by client address (domain/pull_limits.py). One read of the current
    window's count; ``remaining`` is what it leaves. With nothing left, a token that could
    only pull is refused (PullLimitReached: 429 until the window ends); one that may also
    push or delete is issued with ``remaining`` 0, so the registry refuses its pulls only.
    """
    limits = uow.config.pull_limits
    if not limits.on or not any(_may_pull(scope) for scope in granted):
        return None
    if principal.user is None:
        found = limits.for_address(principal.address)
    elif principal.is_admin:  # the Index itself (SYSTEM) is one too
        found = None
    else:
        found = limits.for_account(principal.name)
    if found is None:
        return None
    subject, rate = found
    now = time.time()
    start = rate.window_start(now)
    remaining = max(0, rate.pulls - uow.pull_counts.count(subject, rate.window, start))
    if remaining == 0 and all(scope.actions == {"pull"} for scope in granted):
        raise errors.PullLimitReached(rate.pulls, rate.window, start + rate.window - now)
    return PullLimit(rate.pulls, remaining, rate.window)


def _may_pull(scope: Scope) -> bool:
    return scope.type == "repository" and bool(scope.actions & {"pull", "*"})
