"""Read the audit log: administrators see every entry, other users their own actions.

(services/audit.py writes entries; this module lists them, newest first, keys ``(id,)``,
and exports them, oldest first, for ``wharf-index audit export``.)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from ..domain import errors
from ..domain.model import Principal
from ..domain.records import AuditRecord
from .paging import Page, take
from .unit_of_work import UnitOfWork


def list_entries(
    uow: UnitOfWork,
    principal: Principal,
    *,
    actor: str | None = None,
    namespace: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: tuple | None = None,
    limit: int = 50,
) -> Page:
    """Entries newest first. Non-administrators get their own actions only (``actor``,
    ``namespace``, ``action`` and the time range ``since <= at < until`` then narrow those).
    Raises PermissionDenied (anonymous), UserNotFound, NamespaceNotFound, ValueInvalid
    (``until`` not after ``since``)."""
    if since is not None and until is not None and until <= since:
        raise errors.ValueInvalid("until", "the end of the time range must be after its start")
    if principal.user is None:
        raise errors.PermissionDenied("sign in to read the audit log")
    with uow:
        if principal.is_admin:
            actor_id = uow.users.get(actor).id if actor else None
        else:
            actor_id = principal.user.id
            if actor and actor != principal.user.username:
                raise errors.PermissionDenied("you may only read your own actions")
        namespace_id = uow.namespaces.get(namespace).id if namespace else None
        rows = uow.audit.list(
            namespace_id=namespace_id,
            actor_id=actor_id,
            action=action,
            since=since,
            until=until,
            before_id=after[0] if after else None,
            limit=limit + 1,
        )
    return take(rows, limit, lambda e: (e.id,))


def export(
    uow: UnitOfWork,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    actions: Sequence[str] = (),
    batch: int = 1000,
) -> Iterator[AuditRecord]:
    """Yield every entry with ``since <= at < until`` (of ``actions`` when given), oldest
    first, ``batch`` rows fetched at a time, in one transaction (one snapshot: entries
    written meanwhile are not included). Raises ValueInvalid when ``until`` is not after
    ``since``. The operator's command: no principal, no filtering by reader."""
    if since is not None and until is not None and until <= since:
        raise errors.ValueInvalid("until", "--until must be later than --since")
    with uow:
        yield from uow.audit.export(since=since, until=until, actions=actions, batch=batch)


def export_line(record: AuditRecord) -> dict[str, Any]:
    """The JSON object of one exported entry (``at`` in RFC 3339, UTC)."""
    at = record.at.isoformat()
    return {
        "id": record.id,
        "at": at[:-6] + "Z" if at.endswith("+00:00") else at,
        "actor_id": record.actor_id,
        "actor": record.actor_name,
        "action": record.action,
        "target_type": record.target_type,
        "target": record.target,
        "namespace_id": record.namespace_id,
        "repository_id": record.repository_id,
        "detail": record.detail,
        "request_id": record.request_id,
        "remote_addr": record.remote_addr,
    }
