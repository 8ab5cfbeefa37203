"""Manifests: end-3 (GET/HEAD), end-7 (PUT), end-9 (DELETE), by tag or digest.

A ``<reference>`` must be a tag or a digest ("Pulling manifests"). To read or delete, one that
is neither names no manifest: ``404 MANIFEST_UNKNOWN``, as for any manifest not found (the
conformance suite asks ``.INVALID_MANIFEST_NAME`` for a 404). To push, it is the client's
error: ``400 MANIFEST_INVALID`` for a bad tag (the spec's table has no tag code) and
``400 DIGEST_INVALID`` for a malformed digest.
"""

from __future__ import annotations

from flask import Response, request
from wharf_protocol.digests import DigestInvalid
from wharf_protocol.names import Reference, ReferenceInvalid, parse_reference

from ..content.errors import ManifestTooLarge, ManifestUnknown
from . import bp
from .access import require_access
from .helpers import content, emit, location, quota_check, services


@bp.route("/<repo:name>/manifests/<reference>", methods=["GET", "HEAD"])
@require_access("pull")
def get_manifest(name: str, reference: str):
    """end-3: GET/HEAD /v2/<name>/manifests/<reference> — the manifest's exact bytes."""
    ref = _existing_reference(reference)
    manifest = content().manifests.get(name, ref)
    if request.method == "GET":
        emit(
            "pull",
            name,
            digest=manifest.digest,
            media_type=manifest.media_type,
            size=len(manifest.body),
            tag=ref.tag or "",
        )
    headers = {
        "Docker-Content-Digest": str(manifest.digest),
        "ETag": f'"{manifest.digest}"',
        "Content-Length": str(len(manifest.body)),
    }
    return Response(manifest.body, 200, headers, content_type=manifest.media_type)


@bp.route("/<repo:name>/manifests/<reference>", methods=["PUT"])
@require_access("push")
def put_manifest(name: str, reference: str):
    """end-7: PUT /v2/<name>/manifests/<reference> — validate and store (201, OCI-Subject)."""
    ref = parse_reference(reference)
    body = _read_body(services().settings.manifest_max_size)
    result = content().manifests.put(
        name, ref, body, request.headers.get("Content-Type"), quota_check(name)
    )
    emit(
        "push",
        name,
        digest=result.digest,
        media_type=result.media_type,
        size=result.size,
        tag=ref.tag or "",
        url=location(f"/v2/{name}/manifests/{result.digest}"),
        references=result.references,
    )
    headers = {
        "Location": location(f"/v2/{name}/manifests/{result.digest}"),
        "Docker-Content-Digest": str(result.digest),
        "Content-Length": "0",
    }
    if result.subject is not None:
        headers["OCI-Subject"] = str(result.subject)
    return Response(status=201, headers=headers)


@bp.route("/<repo:name>/manifests/<reference>", methods=["DELETE"])
@require_access("delete")
def delete_manifest(name: str, reference: str):
    """end-9: DELETE /v2/<name>/manifests/<reference> — a tag, or a manifest and its tags."""
    ref = _existing_reference(reference)
    digest, tags = content().manifests.delete(name, ref)
    if ref.tag is not None:
        emit("delete", name, tag=ref.tag)
    else:
        emit("delete", name, digest=digest)
    return Response(status=202, headers={"Content-Length": "0"})


def _existing_reference(reference: str) -> Reference:
    """Parse a reference to read or delete; ManifestUnknown if it is no tag and no digest."""
    try:
        return parse_reference(reference)
    except (ReferenceInvalid, DigestInvalid):
        raise ManifestUnknown(reference) from None


def _read_body(limit: int) -> bytes:
    """Read at most ``limit`` bytes of the body; ManifestTooLarge (413) beyond."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise ManifestTooLarge(limit)
    data = bytearray()
    while chunk := request.stream.read(limit + 1 - len(data)):
        data += chunk
        if len(data) > limit:
            raise ManifestTooLarge(limit)
    return bytes(data)
