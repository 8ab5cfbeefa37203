"""The policy a registry token carries (:mod:`wharf_protocol.policy`): decided here, at issue.

The registry enforces it without calling the Index, so each part is read in the
transaction that grants the token and holds only what the granted scopes need. A change of
policy reaches a registry with the next token: at most one token lifetime later.
"""

from __future__ import annotations

from wharf_protocol.names import namespace_of
from wharf_protocol.policy import NamespaceQuota, Policy, PullLimit, RepositoryPolicy
from wharf_protocol.scopes import Scope

from ..domain.model import Principal
from .quotas import token_quotas
from .unit_of_work import UnitOfWork


def policy_for(uow: UnitOfWork, principal: Principal, granted: tuple[Scope, ...]) -> Policy:
    """Return the policy for a token granting ``granted`` to ``principal`` (in ``uow``)."""
    return Policy(
        repositories=_repository_rules(uow, granted),
        quotas=_quotas(uow, granted),
        pulls=_pull_limit(uow, principal, granted),
    )


def _repository_rules(uow: UnitOfWork, granted: tuple[Scope, ...]) -> dict[str, RepositoryPolicy]:
    """Immutable tag patterns of the repositories ``granted`` may push to or delete from."""
    return {}


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
    """The caller's pull rate limit, when pull limits are on and ``granted`` may pull."""
    return None
