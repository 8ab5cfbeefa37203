"""Notification endpoints served by a real gunicorn registry (auth none, no Index).

The registry's delivery threads run in its worker; the receivers are HTTP servers in this
test process. One endpoint is down while an image is pushed and pulled; the registry then
restarts (graceful stop, new process on the same storage) and the endpoint comes up: it gets
everything it missed, in order, and the other endpoint nothing twice (its position was kept).
"""

from __future__ import annotations

import json
import time

import requests
from endpoint_receiver import EndpointReceiver, endpoints_json
from registry_http import TIMEOUT, push_blob
from wharf_protocol import mediatypes


def _outbox(root) -> list[str]:
    folder = root / "wharf" / "outbox"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_endpoints_get_every_event_across_a_restart_while_one_is_down(start_registry, tmp_path):
    up, down = EndpointReceiver().start(), EndpointReceiver()
    try:
        root = tmp_path / "shared"
        env = {
            "REGISTRY_NOTIFICATIONS_INTERVAL": "0.1",
            "REGISTRY_NOTIFICATIONS_ENDPOINTS": endpoints_json(
                {"name": "up", "url": up.endpoint_url, "headers": {"Authorization": ["Bearer x"]}},
                {"name": "down", "url": down.endpoint_url, "threshold": 1, "backoff": "200ms"},
            ),
        }
        first = start_registry(root, **env)
        config = push_blob(first.url, "team/app", b'{"architecture":"amd64","os":"linux"}')
        layer = push_blob(first.url, "team/app", b"layer")
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": mediatypes.OCI_MANIFEST,
                "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": config, "size": 37},
                "layers": [{"mediaType": mediatypes.OCI_LAYER_GZIP, "digest": layer, "size": 5}],
            }
        )
        put = requests.put(
            f"{first.url}/v2/team/app/manifests/v1",
            data=manifest,
            headers={"Content-Type": mediatypes.OCI_MANIFEST},
            timeout=TIMEOUT,
        )
        assert put.status_code == 201, put.text
        digest = put.headers["Docker-Content-Digest"]
        pulled = requests.get(f"{first.url}/v2/team/app/manifests/v1", timeout=TIMEOUT)
        assert pulled.status_code == 200
        up.wait_events(lambda events: len(events) == 4)
        assert up.received[0].headers["authorization"] == "Bearer x"
        first.stop()
        assert _outbox(root) != []  # kept for "down"

        second = start_registry(root, **env)
        gone = requests.delete(f"{second.url}/v2/team/app/manifests/{digest}", timeout=TIMEOUT)
        assert gone.status_code == 202
        up.wait_events(lambda events: len(events) == 5)
        down.start()
        down.wait_events(lambda events: len(events) == 5)
        assert [e.action for e in down.events] == ["push", "push", "push", "pull", "delete"]
        assert [e.id for e in down.events] == [e.id for e in up.events]  # same order, once
        push = down.events[2]
        assert (push.target.tag, push.target.digest) == ("v1", digest)
        assert [d.digest for d in push.target.references] == [config, layer]
        deadline = time.monotonic() + 20
        while _outbox(root) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _outbox(root) == []  # both have everything: collected
        positions = root / "wharf" / "outbox-positions"
        assert sorted(p.name for p in positions.iterdir()) == [
            "endpoint-down.json",
            "endpoint-up.json",
        ]
        assert len(up.events) == len(down.events) == 5
    finally:
        up.stop()
        down.stop()
