"""Referrers: end-12a (list) and end-12b (``artifactType`` filter, ``OCI-Filters-Applied``)."""

from __future__ import annotations

from flask import jsonify, request
from wharf_protocol import mediatypes
from wharf_protocol.digests import Digest

from . import bp
from .access import require_access
from .helpers import content


@bp.route("/<repo:name>/referrers/<digest>", methods=["GET"])
@require_access("pull")
def list_referrers(name: str, digest: str):
    """end-12a/12b: GET /v2/<name>/referrers/<digest> — an image index of referrers (200)."""
    subject = Digest.parse(digest)
    content().blobs.require_repository(name)
    artifact_type = request.args.get("artifactType") or None
    manifests = content().referrers.list(name, subject, artifact_type)
    response = jsonify({"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX,
                        "manifests": manifests})
    response.content_type = mediatypes.OCI_INDEX
    if artifact_type is not None:
        response.headers["OCI-Filters-Applied"] = "artifactType"
    return response
