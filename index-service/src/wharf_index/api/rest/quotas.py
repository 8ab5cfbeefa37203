"""A namespace's storage quota: ``GET``/``PUT``/``DELETE /namespaces/<namespace>/quota``.

Administrators choose (``PUT {"limit": bytes | null}``; ``null``: no quota, whatever the
default) or clear (``DELETE``: the default, INDEX_DEFAULT_NAMESPACE_QUOTA, applies again)
a namespace's quota; its owners and administrators read it with its use. Password or
session only, as every namespace setting (services/quotas.py says what ``used`` counts).
"""

from __future__ import annotations

from ...context import uow
from ...services import quotas
from . import bp
from .auth import require_account, require_admin
from .inputs import load
from .openapi import doc
from .schemas import QuotaIn, QuotaSchema


def _dump(quota: quotas.Quota) -> dict:
    return QuotaSchema().dump({"limit": quota.limit, "used": quota.used, "default": quota.default})


@bp.get("/namespaces/<namespace>/quota")
@doc(auth="account", response=QuotaSchema)
def get_quota(namespace: str):
    """A namespace's storage quota and use (its owners and administrators)."""
    return _dump(quotas.get_quota(uow(), require_account(), namespace))


@bp.put("/namespaces/<namespace>/quota")
@doc(auth="admin", body=QuotaIn, response=QuotaSchema)
def put_quota(namespace: str):
    """Choose a namespace's storage quota in bytes, or null for none (administrators)."""
    caller = require_admin()
    data = load(QuotaIn)
    return _dump(quotas.set_quota(uow(), caller, namespace, data["limit"]))


@bp.delete("/namespaces/<namespace>/quota")
@doc(auth="admin", response=QuotaSchema)
def delete_quota(namespace: str):
    """Forget a namespace's chosen quota: the default applies again (administrators)."""
    return _dump(quotas.clear_quota(uow(), require_admin(), namespace))
