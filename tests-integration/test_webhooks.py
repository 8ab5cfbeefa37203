"""Webhooks end to end: a push with skopeo reaches a receiver, signed, within seconds.

The Index, its registry ``reg1`` and the webhook worker (``wharf-index worker``) run as real
processes on their hosts; the receiver is a real HTTP server in the test process, on
pytest's side of the network, which ``INDEX_WEBHOOK_ALLOWED_NETWORKS`` allows (every other
inside address stays refused). Checked: Docker Hub's payload and its signature as the Index
README tells a receiver to check it, the callback, retries while the receiver is down, a
worker killed mid-delivery (the delivery comes again with the same id), a disabled
webhook, and inside addresses refused.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time

import pytest
import requests
from oci_client import Image
from stack import wait_for
from wharf_testing.receiver import Received, Receiver

NAMESPACE_HOOKS = "/api/v1/namespaces/alice/webhooks"


def signature_valid(secret: str, received: Received, tolerance: float = 300) -> bool:
    """Check Wharf's webhook signature the way the Index README tells receivers to:
    ``X-Wharf-Signature: sha256=HMAC-SHA256(secret, "<X-Wharf-Timestamp>." + body)`` and a
    timestamp within ``tolerance`` seconds of now (written from the README, not with the
    Index's own code)."""
    timestamp = received.header("X-Wharf-Timestamp")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256)
    return hmac.compare_digest(
        received.header("X-Wharf-Signature"), "sha256=" + expected.hexdigest()
    )


@pytest.fixture(scope="module")
def stack(make_stack, network):
    stack = make_stack(
        index_env={
            "INDEX_WEBHOOK_ALLOWED_NETWORKS": network.cidr,
            "INDEX_WEBHOOK_RETRY_BASE": "1",
            "INDEX_WEBHOOK_RETRY_MAX": "1",
            "INDEX_WEBHOOK_TIMEOUT": "5",
            "INDEX_WEBHOOK_CONNECT_TIMEOUT": "2",
        }
    ).bootstrap()
    stack.add_registry("reg1", "registry", ["alice", "bob"])
    stack.start_worker("--threads", "2")
    yield stack
    stack.close()  # the next module's stack binds the same host ports


@pytest.fixture
def receiver(network):
    receiver = Receiver(network.gateway).start()
    yield receiver
    receiver.stop()  # held requests released too


def _push(stack, repository: str, tag: str, label: str) -> Image:
    alice = stack.login("alice")
    image = Image.random(layers=2, label=label)
    layout = image.write_layout(os.path.join(stack.workdir, f"layout-{label}"), tag)
    address = stack.registries["reg1"].address
    alice.copy(layout, f"docker://{address}/{repository}:{tag}", check=True)
    return image


def _webhook(stack, url: str, path: str = NAMESPACE_HOOKS, **body) -> dict:
    response = stack.api("POST", path, "alice", json={"url": url, **body})
    assert response.status_code == 201, response.text
    return response.json()


def _deliveries(stack, hook: dict, path: str = NAMESPACE_HOOKS) -> list[dict]:
    response = stack.api("GET", f"{path}/{hook['id']}/deliveries", "alice")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _pushed(tag: str):
    def match(requests_):
        return [
            r
            for r in requests_
            if r.header("X-Wharf-Event") == "tag_pushed" and r.json()["push_data"]["tag"] == tag
        ]

    return match


def test_a_push_reaches_the_receiver_signed_in_docker_hubs_format(stack, receiver):
    hook = _webhook(stack, receiver.url + "/hooks/ci", name="ci")
    image = _push(stack, "alice/web", "1.0", "wh-first")
    (delivery,) = _pushed("1.0")(receiver.wait(_pushed("1.0")))
    assert delivery.path == "/hooks/ci"
    assert signature_valid(hook["secret"], delivery)
    assert not signature_valid("another-secret-of-16+chars", delivery)
    assert delivery.header("Content-Type").startswith("application/json")
    payload = delivery.json()
    assert payload["event"] == "tag_pushed"
    assert payload["delivery_id"] == delivery.header("X-Wharf-Delivery")
    assert payload["push_data"]["pusher"] == "alice"
    assert payload["push_data"]["digest"] == image.digest
    assert payload["push_data"]["registry"] == "reg1"
    repository = payload["repository"]
    assert (repository["repo_name"], repository["namespace"], repository["name"]) == (
        "alice/web",
        "alice",
        "web",
    )
    assert payload["callback_url"].startswith(stack.index.url + "/api/v1/webhooks/callbacks/")

    # Docker Hub's callback: the receiver reports its result; the delivery log shows it.
    answer = requests.post(
        payload["callback_url"],
        json={"state": "success", "description": "tests passed", "context": "ci"},
        timeout=10,
    )
    assert answer.status_code == 204, answer.text
    (logged,) = [
        d
        for d in _deliveries(stack, hook)
        if d["delivery_id"] == delivery.header("X-Wharf-Delivery")
    ]
    assert logged["status"] == "delivered"
    assert logged["callback"]["state"] == "success"
    assert logged["callback"]["description"] == "tests passed"
    assert logged["attempts"][0]["status_code"] == 200
    stack.api("DELETE", f"{NAMESPACE_HOOKS}/{hook['id']}", "alice")


def test_a_receiver_down_then_up_gets_the_delivery(stack, receiver):
    hook = _webhook(stack, receiver.url + "/hooks/later")
    receiver.stop()  # connections to its port are refused now
    _push(stack, "alice/web", "2.0", "wh-down")

    def failed_attempts():
        items = [d for d in _deliveries(stack, hook) if d["event"] == "tag_pushed"]
        return items and len(items[0]["attempts"]) >= 2 and items[0]

    pending = wait_for(failed_attempts, timeout=30, message="two failed attempts")
    assert pending["status"] == "pending"
    assert all(a["status_code"] is None and a["error"] for a in pending["attempts"])
    receiver.start()  # the same port
    (delivery,) = _pushed("2.0")(receiver.wait(_pushed("2.0")))
    assert delivery.header("X-Wharf-Delivery") == pending["delivery_id"]
    assert signature_valid(hook["secret"], delivery)
    stack.api("DELETE", f"{NAMESPACE_HOOKS}/{hook['id']}", "alice")


def test_a_worker_killed_mid_delivery_sends_it_again_with_the_same_id(stack, receiver):
    hook = _webhook(stack, receiver.url + "/hooks/held")
    receiver.hold()  # the receiver keeps the first request open
    _push(stack, "alice/web", "3.0", "wh-kill")
    (first,) = _pushed("3.0")(receiver.wait(_pushed("3.0")))
    worker = stack.extra_services[-1]
    worker.kill()
    receiver.release()
    worker.start()
    again = receiver.wait(lambda got: len(_pushed("3.0")(got)) >= 2)
    ids = {r.header("X-Wharf-Delivery") for r in _pushed("3.0")(again)}
    assert ids == {first.header("X-Wharf-Delivery")}
    delivered = wait_for(
        lambda: [d for d in _deliveries(stack, hook) if d["status"] == "delivered"],
        timeout=30,
        message="the delivery recorded as delivered",
    )
    assert delivered[0]["delivery_id"] == first.header("X-Wharf-Delivery")
    stack.api("DELETE", f"{NAMESPACE_HOOKS}/{hook['id']}", "alice")


def test_a_disabled_webhook_gets_nothing(stack, receiver):
    hook = _webhook(stack, receiver.url + "/hooks/off")
    answer = stack.api("PATCH", f"{NAMESPACE_HOOKS}/{hook['id']}", "alice", json={"active": False})
    assert answer.status_code == 200, answer.text
    _push(stack, "alice/web", "4.0", "wh-off")
    wait_for(
        lambda: stack.api("GET", "/api/v1/repositories/alice/web/-/tags/4.0", "alice").ok,
        timeout=30,
        message="the Index to record alice/web:4.0",
    )
    assert _deliveries(stack, hook) == []  # the event was applied; nothing was queued
    ping = stack.api("POST", f"{NAMESPACE_HOOKS}/{hook['id']}/ping", "alice")
    assert ping.status_code in (200, 201, 202), ping.text
    assert not _pushed("4.0")(receiver.received)
    stack.api("DELETE", f"{NAMESPACE_HOOKS}/{hook['id']}", "alice")


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9/", "http://localhost/"],
)
def test_inside_addresses_are_refused(stack, url):
    answer = stack.api("POST", NAMESPACE_HOOKS, "alice", json={"url": url})
    assert answer.status_code == 400, answer.text
    assert "url" in answer.json()["error"]["detail"]
