"""Uploads: end-4a/4b (POST), end-11 (mount), end-5 (PATCH), end-6 (PUT), end-13 (GET), cancel."""

from __future__ import annotations

from flask import Response, g, request
from wharf_protocol.digests import Digest, DigestInvalid
from wharf_protocol.names import NameInvalid, namespace_of, validate_repository_name
from wharf_protocol.scopes import Scope

from ..content.errors import UploadRangeInvalid
from . import bp
from .access import may_access, require_access
from .helpers import (
    content,
    emit,
    has_body,
    location,
    quota_check,
    request_body,
    services,
    upload_location,
    upload_range,
)
from .ranges import chunk_range


@bp.route("/<repo:name>/blobs/uploads/", methods=["POST"], strict_slashes=False)
@require_access("push")
def start_upload(name: str):
    """end-4a/end-4b/end-11: POST /v2/<name>/blobs/uploads/ — session, monolithic or mount."""
    mounted = _mount(name, request.args.get("mount"), request.args.get("from"))
    if mounted is not None:
        return mounted
    if "digest" in request.args:
        digest = Digest.parse(request.args["digest"])
        size = content().uploads.put(name, digest, request_body(), quota_check(name))
        emit("push", name, digest=digest, size=size, media_type="application/octet-stream")
        return _created(name, digest)
    upload_id = content().uploads.start(name)
    return _progress(name, upload_id, 0, 202)


@bp.route("/<repo:name>/blobs/uploads/<upload_id>", methods=["PATCH"])
@require_access("push")
def patch_upload(name: str, upload_id: str):
    """end-5: PATCH <location> — append a chunk (Content-Range must follow the last byte)."""
    start, length = _content_range(name, upload_id)
    size = content().uploads.append(name, upload_id, request_body(start, length))
    return _progress(name, upload_id, size, 202)


@bp.route("/<repo:name>/blobs/uploads/<upload_id>", methods=["PUT"])
@require_access("push")
def finish_upload(name: str, upload_id: str):
    """end-6: PUT <location>?digest= — optional last chunk, verify the digest, publish (201)."""
    if "digest" not in request.args:
        raise DigestInvalid("the digest query parameter is required")
    digest = Digest.parse(request.args["digest"])
    body = None
    if has_body():
        start, length = _content_range(name, upload_id)
        body = request_body(start, length)
    size = content().uploads.finish(name, upload_id, digest, body, quota_check(name))
    emit("push", name, digest=digest, size=size, media_type="application/octet-stream")
    return _created(name, digest)


@bp.route("/<repo:name>/blobs/uploads/<upload_id>", methods=["GET"])
@require_access("push")
def get_upload(name: str, upload_id: str):
    """end-13: GET <location> — the upload's progress (204 with Range)."""
    size = content().uploads.status(name, upload_id)
    return _progress(name, upload_id, size, 204)


@bp.route("/<repo:name>/blobs/uploads/<upload_id>", methods=["DELETE"])
@require_access("push")
def cancel_upload(name: str, upload_id: str):
    """DELETE <location> — cancel the upload and drop its data (204)."""
    content().uploads.cancel(name, upload_id)
    return Response(status=204)


def _mount(name: str, mount: str | None, source: str | None) -> Response | None:
    """end-11: link ``mount`` from ``source`` if readable there; None to fall back (202)."""
    if not mount or not source:
        return None
    try:
        digest = Digest.parse(mount)
        source = validate_repository_name(source, services().settings.max_name_length)
    except (DigestInvalid, NameInvalid):
        return None
    if not may_access(g.identity, Scope("repository", source, frozenset({"pull"}))):
        return None
    # A blob of this namespace is counted in its use already: only another's adds bytes.
    admit = quota_check(name) if namespace_of(source) != namespace_of(name) else None
    size = content().blobs.mount(name, digest, source, admit)
    if size is None:
        return None
    emit(
        "mount",
        name,
        digest=digest,
        size=size,
        from_repository=source,
        media_type="application/octet-stream",
    )
    return _created(name, digest)


def _content_range(name: str, upload_id: str) -> tuple[int | None, int | None]:
    """Parse ``Content-Range: <start>-<end>`` (end-5: exactly that form, inclusive).

    UploadRangeInvalid (416, session kept) when it is malformed, inverted, or disagrees with
    ``Content-Length``.
    """
    header = request.headers.get("Content-Range")
    if header is None:
        return None, None
    parsed = chunk_range(header)
    start, end = parsed if parsed is not None else (0, -1)
    length = end - start + 1
    declared = request.content_length
    if parsed is None or length < 1 or (declared is not None and declared != length):
        size = content().uploads.status(name, upload_id)
        raise UploadRangeInvalid(f"invalid Content-Range {header!r}", size, upload_id)
    return start, length


def _created(name: str, digest: Digest) -> Response:
    return Response(
        status=201,
        headers={
            "Location": location(f"/v2/{name}/blobs/{digest}"),
            "Docker-Content-Digest": str(digest),
            "Content-Length": "0",
        },
    )


def _progress(name: str, upload_id: str, size: int, status: int) -> Response:
    return Response(
        status=status,
        headers={
            "Location": upload_location(name, upload_id),
            "Range": upload_range(size),
            "Docker-Upload-UUID": upload_id,
            "Blob-Upload-Session-ID": upload_id,
            "Content-Length": "0",
        },
    )
