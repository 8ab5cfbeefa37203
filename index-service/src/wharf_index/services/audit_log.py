"""Read the audit log: administrators see every entry, other users their own actions.

(services/audit.py writes entries; this module lists them, newest first, keys ``(id,)``.)
"""

from __future__ import annotations

from ..domain import errors
from ..domain.model import Principal
from .paging import Page, take
from .unit_of_work import UnitOfWork


def list_entries(
    uow: UnitOfWork,
    principal: Principal,
    *,
    actor: str | None = None,
    namespace: str | None = None,
    after: tuple | None = None,
    limit: int = 50,
) -> Page:
    """Entries newest first. Non-administrators get their own actions only (``actor`` and
    ``namespace`` then narrow those). Raises PermissionDenied (anonymous), UserNotFound,
    NamespaceNotFound."""
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
            before_id=after[0] if after else None,
            limit=limit + 1,
        )
    return take(rows, limit, lambda e: (e.id,))
