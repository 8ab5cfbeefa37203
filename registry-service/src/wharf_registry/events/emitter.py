"""Build wharf_protocol events (the reference registry's notification envelope) and sink them.

One event per operation, as distribution emits them: ``push`` of a blob or of a manifest (with
its tag, and ``references``: the config and layer descriptors, or an index's manifests),
``pull`` of a manifest (GET, by tag or digest) or blob (GET of the whole blob), ``delete`` of a
manifest, tag or blob, ``mount`` (with ``fromRepository``), and ``delete`` of a repository
(a target with only ``repository``). ``request.id`` is the request id of the logs,
``actor.name`` the authenticated user, ``source`` this process (public host and a
per-process instance id).

``pull`` events go to ``pulls`` when given (the :class:`~.pull_counter.PullCounter`: counted
in memory, written to the outbox in the background), every other event to ``sink`` (the
durable outbox, written before the request is answered).

Wharf's extension events (``wharf.*``, :meth:`Emitter.emit_wharf`; built by
:mod:`.wharf_events`) are for the Index only: written when ``to_index`` (the Index is a
consumer of the sink), dropped otherwise, and never delivered to notification endpoints.

:func:`outbox_emitter` is the Emitter of a process that serves no requests (``wharf-registry
gc``, which deletes untagged manifests): the same events, written straight to the storage
outbox the serving registry delivers from, under the same rule as ``create_app``'s
(:func:`keeps_events`).
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Sequence

from wharf_protocol.events import (
    PULL,
    Actor,
    Descriptor,
    Event,
    RequestRecord,
    Source,
    Target,
    new_event,
)

from ..settings import Settings
from ..storage.base import StorageDriver
from .outbox import Outbox, OutboxSink
from .sinks import EventSink, NullSink
from .wharf_events import wharf_event

logger = logging.getLogger(__name__)


class Emitter:
    """Turn operation facts into events and write them to a sink."""

    def __init__(
        self,
        sink: EventSink,
        source_addr: str = "",
        instance_id: str | None = None,
        pulls: EventSink | None = None,
        to_index: bool = False,
    ) -> None:
        self.sink = sink
        self.pulls = pulls or sink
        self.to_index = to_index
        self.source = Source(addr=source_addr, instance_id=instance_id or str(uuid.uuid4()))

    def emit_wharf(
        self,
        action: str,
        target: Target,
        actor: str = "",
        request: RequestRecord | None = None,
    ) -> Event | None:
        """Write one of Wharf's extension events when the Index consumes the sink (else drop
        it: no other consumer takes them); return it or None. The sink's errors propagate."""
        if not self.to_index:
            return None
        event = wharf_event(action, target, actor=actor, request=request, source=self.source)
        self.sink.write([event])
        logger.debug("event %s %s %s", event.id, action, target.repository)
        return event

    def emit(
        self,
        action: str,
        *,
        repository: str,
        digest: str = "",
        media_type: str = "",
        size: int | None = None,
        tag: str = "",
        url: str = "",
        from_repository: str = "",
        request_id: str = "",
        addr: str = "",
        host: str = "",
        method: str = "",
        useragent: str = "",
        actor: str = "",
        references: Sequence[Descriptor] = (),
    ) -> Event:
        """Build one event and write it (pulls to ``pulls``); the sink's errors propagate."""
        target = Target(
            media_type=media_type,
            digest=digest,
            size=size,
            repository=repository,
            url=url,
            tag=tag,
            length=size,
            from_repository=from_repository,
            references=tuple(references),
        )
        request = RequestRecord(
            id=request_id, addr=addr, host=host, method=method, useragent=useragent
        )
        event = new_event(action, target, request, Actor(name=actor), self.source)
        (self.pulls if action == PULL else self.sink).write([event])
        logger.debug(
            "event %s %s %s%s",
            event.id,
            action,
            repository,
            f":{tag}" if tag else f"@{digest}" if digest else "",
        )
        return event


def keeps_events(settings: Settings) -> bool:
    """Tell whether events go to the storage outbox: something consumes them (the Index,
    with notifications enabled, or notification endpoints). Otherwise they are dropped."""
    return bool(settings.notifications_enabled or settings.active_endpoints)


def source_addr(settings: Settings) -> str:
    """The ``source.addr`` of this registry's events: its public host, else the host name."""
    return settings.http_host or socket.gethostname()


def outbox_emitter(settings: Settings, driver: StorageDriver) -> Emitter:
    """An Emitter writing to ``driver``'s outbox when :func:`keeps_events`, else dropping."""
    sink: EventSink = OutboxSink(Outbox(driver)) if keeps_events(settings) else NullSink()
    return Emitter(sink, source_addr(settings), to_index=bool(settings.notifications_enabled))
