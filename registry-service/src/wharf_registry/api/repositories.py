"""Wharf extension: ``DELETE /v2/_wharf/repositories/<name>`` (scenario C).

Not in the OCI distribution spec (which has no repository delete); the ``_wharf`` component
cannot start a repository name, so the route never shadows a repository.
"""

from __future__ import annotations

from flask import Response

from . import bp
from .access import require_access
from .helpers import content, emit


@bp.route("/_wharf/repositories/<repo:name>", methods=["DELETE"])
@require_access("delete")
def delete_repository(name: str):
    """DELETE /v2/_wharf/repositories/<name> — delete tags, manifests, links, uploads (202).

    Blobs are left to garbage collection. Idempotent: a repository already gone answers 202
    too, and the repository-delete event (action ``delete``, target with only ``repository``)
    is written to the outbox every time, so a retried deletion completes at the Index.
    """
    content().repositories.delete(name)
    emit("delete", name)
    return Response(status=202, headers={"Content-Length": "0"})
