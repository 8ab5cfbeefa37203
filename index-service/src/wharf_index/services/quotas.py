"""Storage quotas per namespace: the limit administrators choose, the use the records give.

- **The limit**: an administrator's choice for the namespace (bytes, or none), else
  ``INDEX_DEFAULT_NAMESPACE_QUOTA`` (none when unset). Administrators set and clear it; the
  namespace's owners (the user, an organisation's owners) and administrators read it.
- **The use**: bytes of the distinct blobs the namespace's recorded manifests reference --
  every manifest the Index records for its repositories (tagged or not: a registry keeps
  serving an untagged manifest by digest), its config and its layers (an index: its child
  manifests), each digest once per namespace. It counts references, not storage: a blob
  leaves the use when the last manifest referencing it is deleted (a manifest delete, a
  repository delete), before any garbage collection frees its bytes; deleting a tag alone
  removes no manifest, so it lowers the use only through a manifest delete. The records
  follow the registries' events, so the use lags a push by the event's delivery. Kept by
  the database itself (migration 0016), never summed at token time.
- **Enforcement** is the registry's: tokens granting push carry each such namespace's
  limit and use (:func:`token_quotas`, read by ``token_policy``), and the registry refuses
  uploads that would go beyond (registry-service README, "Storage quotas").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wharf_protocol.policy import NamespaceQuota
from wharf_protocol.sizes import MAX_BYTES

from ..domain import errors, policy
from ..domain.model import Principal
from ..domain.records import QuotaState
from . import audit
from .unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Quota:
    """A namespace's quota as the API shows it: ``limit`` bytes (None: no quota), ``used``
    bytes, ``default``: the limit is INDEX_DEFAULT_NAMESPACE_QUOTA (no choice of its own)."""

    namespace: str
    limit: int | None
    used: int
    default: bool


def _quota(state: QuotaState, default: int | None) -> Quota:
    limit = state.limit if state.chosen else default
    return Quota(state.namespace, limit, state.used, not state.chosen)


def check_limit(limit: object) -> int | None:
    """Return ``limit`` if it is None or a byte count; ValueInvalid otherwise."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_BYTES:
        raise errors.ValueInvalid("limit", "a quota is a number of bytes from 0 to 2**63 - 1")
    return limit


def get_quota(uow: UnitOfWork, principal: Principal, namespace: str) -> Quota:
    """The quota and use of ``namespace`` (its owners and administrators)."""
    with uow.reading():
        found = uow.namespaces.get(namespace)
        if principal.scopes is not None or not policy.may_administer_namespace(principal, found):
            raise errors.PermissionDenied(f"only owners of {namespace} may see its quota")
        return _quota(uow.namespaces.quota(found.id), uow.config.default_namespace_quota)


def visible_quota(uow: UnitOfWork, principal: Principal, namespace: str) -> Quota | None:
    """:func:`get_quota` for a caller who may see it, None for anyone else (a namespace's
    JSON shows it to its owners and administrators only)."""
    try:
        return get_quota(uow, principal, namespace)
    except errors.PermissionDenied:
        return None


def set_quota(uow: UnitOfWork, principal: Principal, namespace: str, limit: int | None) -> Quota:
    """Choose the quota of ``namespace``: ``limit`` bytes, or None for no quota whatever
    the default (administrators only; audited)."""
    limit = check_limit(limit)
    with uow:
        found = _administered(uow, principal, namespace)
        uow.namespaces.set_quota(found.id, limit)
        audit.record(
            uow,
            principal,
            "namespace.set_quota",
            "namespace",
            namespace,
            namespace_id=found.id,
            detail={"limit": limit},
        )
        return _quota(uow.namespaces.quota(found.id), uow.config.default_namespace_quota)


def clear_quota(uow: UnitOfWork, principal: Principal, namespace: str) -> Quota:
    """Forget the quota chosen for ``namespace``: the default applies again
    (administrators only; audited)."""
    with uow:
        found = _administered(uow, principal, namespace)
        uow.namespaces.clear_quota(found.id)
        audit.record(
            uow,
            principal,
            "namespace.clear_quota",
            "namespace",
            namespace,
            namespace_id=found.id,
        )
        return _quota(uow.namespaces.quota(found.id), uow.config.default_namespace_quota)


def _administered(uow: UnitOfWork, principal: Principal, namespace: str):
    found = uow.namespaces.get(namespace)
    if principal.user is None or not principal.is_admin or principal.scopes is not None:
        raise errors.PermissionDenied("only administrators may set quotas")
    return found


def token_quotas(uow: UnitOfWork, namespaces: Iterable[str]) -> dict[str, NamespaceQuota]:
    """The quotas a token granting push in ``namespaces`` carries: one per namespace that
    has a limit, with its use now (one prepared statement; none when ``namespaces`` is
    empty)."""
    names = sorted(set(namespaces))
    if not names:
        return {}
    default = uow.config.default_namespace_quota
    quotas = {}
    for state in uow.token_checks.quotas(names):
        quota = _quota(state, default)
        if quota.limit is not None:
            quotas[quota.namespace] = NamespaceQuota(quota.limit, quota.used)
    return quotas
