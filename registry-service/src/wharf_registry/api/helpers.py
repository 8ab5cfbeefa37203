"""Small helpers shared by the views: services, locations, bodies, pagination, events."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import urlencode

from flask import current_app, g, request
from wharf_protocol.events import Descriptor

from .. import metrics
from ..auth import Authenticator
from ..auth.pull_meter import PullMeter
from ..content import Content
from ..content.errors import PaginationInvalid
from ..content.uploads import CHUNK_SIZE, Body
from ..events import Delivery, Emitter, PullCounter
from ..proxy import Mirror
from ..readiness import Readiness
from ..settings import Settings
from ..status import OutboxStatus
from .quota import QuotaLedger, admission


@dataclass(frozen=True)
class Services:
    """What ``create_app`` puts on ``app.extensions["registry"]``."""

    settings: Settings
    content: Content
    auth: Authenticator
    events: Emitter
    delivery: Delivery | None = None  # outbox -> Index and endpoints, when configured
    pulls: PullCounter | None = None  # pull events -> outbox in the background, likewise
    pull_meter: PullMeter = field(default_factory=PullMeter)  # tokens' pull limits
    quotas: QuotaLedger = field(default_factory=QuotaLedger)  # bytes accepted per token
    readiness: Readiness | None = None  # GET /readyz
    outbox_status: OutboxStatus | None = None  # GET /status
    mirror: Mirror | None = None  # the pull-through cache, when upstreams are configured


def services() -> Services:
    """Return the services of the current app."""
    return current_app.extensions["registry"]


def content() -> Content:
    """Return the content stores of the current app."""
    return services().content


def quota_check(name: str) -> Callable[[int], None] | None:
    """The storage quota check of a push into ``name`` by this request's caller, for the
    content stores to call with its new bytes; None when its token carries no quota
    (api/quota.py)."""
    return admission(services().quotas, g.get("identity"), name)


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
    """Wrap the request body for streaming (its bytes counted as received); ``length``
    overrides Content-Length."""
    if length is None and not _is_chunked():
        length = request.content_length or 0
    return Body(_Counted(request.stream), length, start)


class _Counted:
    """A request body stream whose reads are counted (metrics.bytes_received)."""

    __slots__ = ("_stream",)

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if data:
            metrics.bytes_received(len(data))
        return data

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


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
