"""A notification endpoint for tests: wharf_testing.receiver, its requests read as envelopes.

``EndpointReceiver()`` answers 202 and has a port before it is started (``url`` is known
while it is down, so a registry configured with it meets connection refused); ``events``
parses every request body strictly (``load_envelope(strict=True)``: a malformed envelope
fails the test where it is read); ``wait_events(predicate)`` polls on those events.
"""

from __future__ import annotations

import json

from wharf_protocol.events import Event, load_envelope
from wharf_testing.ports import free_port
from wharf_testing.receiver import Answer, Received, Receiver


class EndpointReceiver(Receiver):
    """Record every envelope POSTed to ``url`` (``/events``)."""

    def __init__(self) -> None:
        super().__init__(port=free_port())
        self.answer = Answer(202, body=b"")

    @property
    def endpoint_url(self) -> str:
        return f"{self.url}/events"

    @property
    def events(self) -> list[Event]:
        """Every event received, in order (duplicates included)."""
        return events_of(self.received)

    def wait_events(self, predicate, timeout: float = 20.0) -> list[Event]:
        """Poll until ``predicate(events)`` holds; return the events (AssertionError if not)."""
        return events_of(self.wait(lambda got: predicate(events_of(got)), timeout))

    def describe(self, received: list[Received]) -> list[tuple[str, str, str]]:
        return summary(events_of(received))


def events_of(received: list[Received]) -> list[Event]:
    return [event for item in received for event in load_envelope(item.body, strict=True)]


def summary(events: list[Event]) -> list[tuple[str, str, str]]:
    """(action, repository, tag or digest) of each event."""
    return [(e.action, e.target.repository, e.target.tag or e.target.digest) for e in events]


def endpoints_json(*endpoints: dict) -> str:
    """The REGISTRY_NOTIFICATIONS_ENDPOINTS value for ``endpoints``."""
    return json.dumps(list(endpoints))
