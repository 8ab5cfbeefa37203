"""The audit log: who did what. Administrators read every entry (optionally one actor's or
one namespace's); other users read their own actions."""

from __future__ import annotations

from ...context import uow
from ...services import audit_log
from . import bp
from .auth import require_user
from .inputs import query
from .openapi import doc
from .pagination import page_body, page_request
from .schemas import AuditEntrySchema


@bp.get("/audit")
@doc(auth="user", response=AuditEntrySchema, paginated=True, query=("actor", "namespace"))
def list_audit_entries():
    """List audit entries, newest first."""
    caller = require_user()
    wanted = page_request("audit", (int,))
    page = audit_log.list_entries(uow(), caller, actor=query("actor", max_length=130),
                                  namespace=query("namespace", max_length=64),
                                  after=wanted.after, limit=wanted.limit)  # fmt: skip
    return page_body("audit", page, AuditEntrySchema(many=True).dump(page.items))
