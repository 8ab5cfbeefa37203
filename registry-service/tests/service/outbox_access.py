"""What the outbox and notification tests read of an app: its delivery and pull counter,
and the events pending in its storage outbox."""

from __future__ import annotations

import json

from wharf_registry.storage import PathNotFound

OUTBOX = "/wharf/outbox"


def delivery(helper):
    return helper.client.application.extensions["registry"].delivery


def pulls(helper):
    return helper.client.application.extensions["registry"].pulls


def drain(helper) -> None:
    """Run delivery passes until one delivers nothing."""
    while delivery(helper).run_once():
        pass


def pending(driver) -> list[str]:
    try:
        return driver.list(OUTBOX)
    except PathNotFound:
        return []


def pending_ids(driver) -> list[str]:
    return [e["id"] for p in pending(driver) for e in json.loads(driver.get_content(p))["events"]]
