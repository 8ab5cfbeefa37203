"""Blobs: end-2 (GET/HEAD, single Range) and end-10 (DELETE)."""

from __future__ import annotations

from flask import Response, redirect, request, send_file
from wharf_protocol.digests import Digest

from . import bp
from .access import require_access
from .helpers import content, emit, services, stream
from .ranges import blob_range


@bp.route("/<repo:name>/blobs/<digest>", methods=["GET", "HEAD"])
@require_access("pull")
def get_blob(name: str, digest: str):
    """end-2: GET/HEAD /v2/<name>/blobs/<digest> — the blob, or one byte range (206/416).

    ``Range`` is read on GET only (RFC 9110, 14.2: HEAD has no range semantics); see
    ``api/ranges.py`` for what each header gets. In a mirrored repository a blob not held
    yet is fetched from the upstream while it is sent (proxy/mirror.py).
    """
    digest_ = Digest.parse(digest)
    blobs = content().blobs
    headers = {
        "Docker-Content-Digest": str(digest_),
        "Accept-Ranges": "bytes",
        "ETag": f'"{digest_}"',
        "Cache-Control": "max-age=31536000",
    }
    mirror = services().mirror
    upstream = mirror.upstream(name) if mirror is not None else None
    if upstream is not None and not blobs.is_linked(name, digest_):
        if request.method == "HEAD":  # answered from the upstream, nothing fetched
            size = mirror.blob_size(name, upstream, digest_)
            return Response(
                status=200,
                content_type="application/octet-stream",
                headers={**headers, "Content-Length": str(size)},
            )
        fetch = mirror.blob(name, upstream, digest_)
        if fetch is not None:  # streamed while cached; a Range is ignored (the whole blob)
            if fetch.size is not None:
                headers["Content-Length"] = str(fetch.size)
            return Response(
                fetch,
                200,
                headers,
                content_type="application/octet-stream",
                direct_passthrough=True,
            )
    size = blobs.stat(name, digest_)
    if request.method == "HEAD":
        return Response(
            status=200,
            content_type="application/octet-stream",
            headers={**headers, "Content-Length": str(size)},
        )
    byte_range = blob_range(
        request.headers.get("Range"), request.headers.get("If-Range"), headers["ETag"], size
    )
    if byte_range is not None:
        start, stop = byte_range
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        headers["Content-Length"] = str(stop - start)
        return Response(
            stream(blobs.open(digest_, start), stop - start),
            206,
            headers,
            content_type="application/octet-stream",
            direct_passthrough=True,
        )
    # No pull event for a layer: the Index counts pulls per image from the manifest GET, and a
    # durable outbox write (an fsync) per layer would tax every image pull for nothing.
    url = blobs.redirect_url(digest_) if services().settings.storage_redirect else None
    if url:
        return redirect(url, 307)
    local = blobs.local_path(digest_)
    if local:
        response = send_file(
            local, mimetype="application/octet-stream", conditional=False, etag=False, max_age=None
        )
        response.headers.update(headers)
        return response
    headers["Content-Length"] = str(size)
    return Response(
        stream(blobs.open(digest_)),
        200,
        headers,
        content_type="application/octet-stream",
        direct_passthrough=True,
    )


@bp.route("/<repo:name>/blobs/<digest>", methods=["DELETE"])
@require_access("delete")
def delete_blob(name: str, digest: str):
    """end-10: DELETE /v2/<name>/blobs/<digest> — unlink the blob from the repository (202)."""
    digest_ = Digest.parse(digest)
    content().blobs.unlink(name, digest_)
    emit("delete", name, digest=digest_)
    return Response(status=202, headers={"Content-Length": "0"})
