"""An upstream that is down (here: one that accepts connections and never answers) is left
alone for its ``down_backoff`` by requests the cache can answer (proxy/health.py).

The upstream is the reference registry behind :class:`SilentRelay`, a TCP relay that can
turn silent; the mirror's read timeout is made short through its constructor, and its
monotonic clock is a counter the test moves, so no test waits out a backoff. Each request
to the upstream is seen as a connection the relay accepts (a silent one is never reused).
"""

from __future__ import annotations

import os

from wharf_registry.proxy_config import Upstream

STALE = '110 - "Response is stale"'
MANIFEST = "/v2/library/app/manifests/latest"
TAGS = "/v2/library/app/tags/list"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_silent_upstream_is_left_alone_for_the_backoff(
    fs_driver, distribution, silent_relay, mirror
):
    upstream, pusher = distribution()
    digest, _ = pusher.push_image("library/app", "latest", [os.urandom(1000)])
    relay = silent_relay(upstream.address)
    clock = Clock()
    client = mirror(
        fs_driver,
        Upstream("library/", relay.url, ttl=0, down_backoff=30),  # ttl 0: always re-checked
        mirror_options={"timeout": (5.0, 0.5), "monotonic": clock},
    )
    fetched = client.get(MANIFEST)
    assert fetched.status_code == 200 and "Warning" not in fetched.headers
    assert client.get(TAGS).get_json()["tags"] == ["latest"]

    relay.silent()
    before = relay.accepted
    first = client.get(MANIFEST)  # asks, waits for the read timeout, serves the copy
    assert first.status_code == 200, first.get_data(as_text=True)
    assert (first.headers["Docker-Content-Digest"], first.headers["Warning"]) == (digest, STALE)
    assert relay.accepted == before + 1

    for _ in range(3):  # within the backoff: from the cache at once, the upstream not asked
        again = client.get(MANIFEST)
        assert (again.status_code, again.headers["Warning"]) == (200, STALE)
        assert again.headers["Docker-Content-Digest"] == digest
        tags = client.get(TAGS)
        assert (tags.get_json()["tags"], tags.headers["Warning"]) == (["latest"], STALE)
    assert relay.accepted == before + 1

    never = client.get("/v2/library/app/manifests/other")  # nothing cached: still asks
    assert never.status_code == 503
    assert relay.accepted == before + 2
    assert client.get("/v2/library/other/tags/list").status_code == 404  # nothing held
    assert relay.accepted == before + 3

    clock.now += 31  # past the backoff since the latest failure: one request asks again
    retried = client.get(MANIFEST)
    assert (retried.status_code, retried.headers["Warning"]) == (200, STALE)
    assert relay.accepted == before + 4
    assert client.get(MANIFEST).headers["Warning"] == STALE
    assert relay.accepted == before + 4
    assert gauge(client, relay.url) == "1.0"

    relay.answer()
    clock.now += 31
    fresh = client.get(MANIFEST)  # the upstream answers: up again
    assert fresh.status_code == 200 and "Warning" not in fresh.headers
    assert fresh.headers["Docker-Content-Digest"] == digest
    assert relay.accepted == before + 5
    assert "Warning" not in client.get(MANIFEST).headers
    tags = client.get(TAGS)
    assert tags.get_json()["tags"] == ["latest"] and "Warning" not in tags.headers
    assert gauge(client, relay.url) == "0.0"


def gauge(client, url: str) -> str:
    """The value of wharf_registry_proxy_upstream_down for ``url`` on /metrics."""
    text = client.get("/metrics").get_data(as_text=True)
    label = f'wharf_registry_proxy_upstream_down{{upstream="{url}"}} '
    (line,) = [line for line in text.splitlines() if line.startswith(label)]
    return line[len(label) :]
