"""Referrers: end-12a (list) and end-12b (``artifactType`` filter, ``OCI-Filters-Applied``).

A registry that offers the referrers API must not answer it with 404 ("Listing Referrers"):
clients take a 404 for "no referrers API" and fall back to the referrers tag schema. So a
subject nothing refers to, and a repository that does not exist (yet), both get 200 with an
empty image index; only a malformed digest is a client error (400 ``DIGEST_INVALID``).
"""

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
    artifact_type = request.args.get("artifactType") or None
    manifests = content().referrers.list(name, subject, artifact_type)
    response = jsonify(
        {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": manifests}
    )
    response.content_type = mediatypes.OCI_INDEX
    if artifact_type is not None:
        response.headers["OCI-Filters-Applied"] = "artifactType"
    return response
