"""Small helpers shared by the views: services, locations, bodies, pagination, events."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlencode

from flask import current_app, g, request
from wharf_protocol.events import Descriptor

from ..auth import Authenticator
from ..content import Content
from ..content.errors import PaginationInvalid
from ..content.uploads import CHUNK_SIZE, Body
from ..events import Delivery, Emitter, PullCounter
from ..readiness import Readiness
from ..settings import Settings


@dataclass(frozen=True)
class Services:
    """What ``create_app`` puts on ``app.extensions["registry"]``."""

    settings: Settings
    content: Content
    auth: Authenticator
    events: Emitter
    delivery: Delivery | None = None  # outbox -> Index and endpoints, when configured
    pulls: PullCounter | None = None  # pull events -> outbox in the background, likewise
    readiness: Readiness | None = None  # GET /readyz


def services() -> Services:
    """Return the services of the current app."""
    return current_app.extensions["registry"]


def content() -> Content:
    """Return the content stores of the current app."""
    return services().content


def location(path: str) -> str:
    """Return a Location for ``path``: absolute with REGISTRY_HTTP_HOST, else relative."""
    return services().settings.location(path)


def upload_location(name: str, upload_id: str) -> str:
    """Return the Location of an upload session."""
    return location(f"/v2/{name}/blobs/uploads/{upload_id}")


def upload_range(size: int) -> str:
    """Return the ``Range`` value of an upload holding ``size`` bytes (``0-<last byte>``)."""
    return f"0-{max(size - 1, 0)}"


def request_body(start: int | None = None, length: int | None = None) -> Body:
    """Wrap the request body for streaming; ``length`` overrides Content-Length."""
    if length is None and not _is_chunked():
        length = request.content_length or 0
    return Body(request.stream, length, start)


def has_body() -> bool:
    """Tell whether the request carries a body (Content-Length > 0 or chunked)."""
    return _is_chunked() or bool(request.content_length)


def _is_chunked() -> bool:
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def stream(reader: BinaryIO, length: int | None = None) -> Iterator[bytes]:
    """Yield ``reader`` (at most ``length`` bytes) in fixed chunks; close it at the end."""
    with reader:
        remaining = length
        while remaining is None or remaining > 0:
            chunk = reader.read(CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining))
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk


def page_size(maximum: int) -> int:
    """Return the ``n`` query parameter clamped to ``maximum`` (default ``maximum``)."""
    raw = request.args.get("n")
    if raw is None or raw == "":
        return maximum
    if not raw.isdigit():
        raise PaginationInvalid(f"n must be a non-negative integer, not {raw!r}")
    return min(int(raw), maximum)


def next_link(path: str, n: int, last: str) -> str:
    """Return the RFC 5988 ``Link`` header of the next page."""
    return f'<{location(path)}?{urlencode({"last": last, "n": n})}>; rel="next"'


def identity_name() -> str:
    """Return the authenticated user name (empty for anonymous)."""
    identity = g.get("identity")
    return identity.name if identity is not None else ""


def emit(
    action: str,
    name: str,
    *,
    digest: object = "",
    media_type: str = "",
    size: int | None = None,
    tag: str = "",
    url: str = "",
    from_repository: str = "",
    references: Sequence[Descriptor] = (),
) -> None:
    """Send one event about ``name`` to the sink, with request record and actor."""
    services().events.emit(
        action,
        repository=name,
        digest=str(digest),
        media_type=media_type,
        size=size,
        tag=tag,
        url=url,
        from_repository=from_repository,
        references=references,
        request_id=g.get("request_id", ""),
        addr=request.remote_addr or "",
        host=request.host,
        method=request.method,
        useragent=request.headers.get("User-Agent", ""),
        actor=identity_name(),
    )
