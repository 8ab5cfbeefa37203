"""Event sinks: where the Registry's notifications go.

:class:`EventSink` is the seam: ``write(events)`` takes a batch of
:class:`wharf_protocol.events.Event` and either stores or delivers it, or raises.
:class:`NullSink` drops events (no Index and no endpoint configured);
:class:`~.outbox.OutboxSink` writes them to storage before the request is answered, for
:mod:`.delivery` to send to the Index and the notification endpoints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from wharf_protocol.events import Event


@runtime_checkable
class EventSink(Protocol):
    """Accepts batches of events; raises if they could not be accepted."""

    def write(self, events: Sequence[Event]) -> None:
        """Accept ``events`` (all or none)."""


class NullSink:
    """Drop every event (the default when neither the Index nor an endpoint is configured)."""

    def write(self, events: Sequence[Event]) -> None:
        """Accept and forget ``events``."""
