"""Record who did what (a helper every service uses inside its unit of work)."""

from __future__ import annotations

from typing import Any

from ..domain.model import Principal
from .unit_of_work import UnitOfWork


def record(
    uow: UnitOfWork,
    actor: Principal,
    action: str,
    target_type: str = "",
    target: str = "",
    **kw: Any,
) -> None:
    """Append an audit entry for ``actor`` (the CLI's SYSTEM principal has no user row)."""
    user = actor.user
    uow.audit.record(
        action,
        actor_id=user.id if user is not None and user.id > 0 else None,
        actor_name=user.username if user is not None else "",
        target_type=target_type,
        target=target,
        **kw,
    )
