"""The policy a registry token carries (:mod:`wharf_protocol.policy`): decided here, at issue.

The registry enforces it without calling the Index, so each part is read in the
transaction that grants the token and holds only what the granted scopes need. A change of
policy reaches a registry with the next token: at most one token lifetime later.
"""

from __future__ import annotations

from wharf_protocol.policy import NamespaceQuota, Policy, PullLimit, RepositoryPolicy
from wharf_protocol.scopes import Scope

from ..domain.model import Principal
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
    """Quotas of the namespaces ``granted`` may push to."""
    return {}


def _pull_limit(
    uow: UnitOfWork, principal: Principal, granted: tuple[Scope, ...]
) -> PullLimit | None:
    """The caller's pull rate limit, when pull limits are on and ``granted`` may pull."""
    return None
