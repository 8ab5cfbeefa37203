"""Manifests: end-3 (GET/HEAD), end-7 (PUT), end-9 (DELETE), by tag or digest.

A ``<reference>`` must be a tag or a digest ("Pulling manifests"). To read or delete, one that
is neither names no manifest: ``404 MANIFEST_UNKNOWN``, as for any manifest not found (the
conformance suite asks ``.INVALID_MANIFEST_NAME`` for a 404). To push, it is the client's
error: ``400 MANIFEST_INVALID`` for a bad tag (the spec's table has no tag code) and
``400 DIGEST_INVALID`` for a malformed digest.

Immutable tags: the caller's token may carry, for the repository, tag patterns that are
immutable (``Identity.policy``, from the Index's ``wharf`` claim). A PUT by tag that would
move such a tag to another digest, and a DELETE of such a tag or of a manifest one points
at, are refused with ``403 DENIED`` ("tag v1.2 is immutable in acme/app (pattern v*)",
detail ``{"tag", "pattern"}``), before anything changes (content/manifests.py).

Pull rate limits (a token whose policy has ``pulls``; :mod:`..auth.pull_meter`): a manifest
GET takes one of the token's pulls in this process, or is refused with ``429
TOOMANYREQUESTS`` and ``Retry-After`` when none is left; GET and HEAD answers carry
``RateLimit-Limit: <limit>;w=<window>`` and ``RateLimit-Remaining: <left>;w=<window>``.
Without such a policy, no such header. Only a manifest found is a pull (a 404 takes none).
"""

from __future__ import annotations

import time

from flask import Response, g, request
from wharf_protocol.digests import DigestInvalid
from wharf_protocol.names import Reference, ReferenceInvalid, parse_reference
from wharf_protocol.policy import RepositoryPolicy

from ..auth.pull_meter import rate_limit_headers
from ..content.errors import ManifestTooLarge, ManifestUnknown
from ..proxy.mirror import STALE_WARNING
from . import bp
from .access import require_access
from .helpers import content, emit, location, quota_check, services


@bp.route("/<repo:name>/manifests/<reference>", methods=["GET", "HEAD"])
@require_access("pull")
def get_manifest(name: str, reference: str):
    """end-3: GET/HEAD /v2/<name>/manifests/<reference> — the manifest's exact bytes."""
    ref = _existing_reference(reference)
    mirror = services().mirror
    upstream = mirror.upstream(name) if mirror is not None else None
    stale = {}
    if upstream is None:
        manifest = content().manifests.get(name, ref)
    else:  # the pull-through cache: cached, fetched, or a stale copy (proxy/mirror.py)
        served = mirror.manifest(name, upstream, ref)
        manifest = served.manifest
        stale = {"Warning": STALE_WARNING} if served.stale else {}
    limits = _pull_limit_headers(take=request.method == "GET")
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
        **limits,
        **stale,
    }
    return Response(manifest.body, 200, headers, content_type=manifest.media_type)


def _pull_limit_headers(*, take: bool) -> dict[str, str]:
    """The RateLimit headers of the caller's token (none without a pull limit); with
    ``take``, one pull counted first (PullLimitReached when none is left)."""
    identity = g.identity
    limit = identity.policy.pulls
    if limit is None:
        return {}
    meter, now = services().pull_meter, time.time()
    expires_at = getattr(identity, "expires_at", 0)
    key = getattr(identity, "token_id", "") or f"{identity.name}@{expires_at}"
    if take:
        until = expires_at + services().settings.token_leeway
        return rate_limit_headers(limit, meter.take(key, limit, until, now))
    return rate_limit_headers(limit, meter.remaining(key, limit, now))


@bp.route("/<repo:name>/manifests/<reference>", methods=["PUT"])
@require_access("push")
def put_manifest(name: str, reference: str):
    """end-7: PUT /v2/<name>/manifests/<reference> — validate and store (201, OCI-Subject)."""
    ref = parse_reference(reference)
    body = _read_body(services().settings.manifest_max_size)
    result = content().manifests.put(
        name,
        ref,
        body,
        request.headers.get("Content-Type"),
        _rules(name),
        quota_check(name),
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
    digest, tags = content().manifests.delete(name, ref, _rules(name))
    if ref.tag is not None:
        emit("delete", name, tag=ref.tag)
    else:
        emit("delete", name, digest=digest)
    return Response(status=202, headers={"Content-Length": "0"})


def _rules(name: str) -> RepositoryPolicy:
    """The repository's rules from the caller's token (immutable tags; none without one)."""
    return g.identity.policy.repository(name)


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
