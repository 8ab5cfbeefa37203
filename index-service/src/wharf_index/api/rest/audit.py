"""The audit log: who did what. Administrators read every entry (optionally one actor's or
one namespace's); other users read their own actions."""

from __future__ import annotations

from ...context import uow
from ...services import audit_log
from . import bp
from .auth import require_user
from .inputs import NAMESPACE_FILTER, Param, query
from .openapi import doc
from .pagination import page_body, page_request
from .schemas import MAX_LOGIN_NAME, AuditEntrySchema

ACTOR = Param("actor", MAX_LOGIN_NAME, description="only this user's actions (administrators)")


@bp.get("/audit")
@doc(
    auth="user",
    response=AuditEntrySchema,
    paginated=True,
    query=(ACTOR, NAMESPACE_FILTER),
    errors=(404,),
)
def list_audit_entries():
    """List audit entries, newest first."""
    caller = require_user()
    wanted = page_request("audit", (int,))
    page = audit_log.list_entries(
        uow(),
        caller,
        actor=query(ACTOR),
        namespace=query(NAMESPACE_FILTER),
        after=wanted.after,
        limit=wanted.limit,
    )
    return page_body("audit", page, AuditEntrySchema(many=True).dump(page.items))
