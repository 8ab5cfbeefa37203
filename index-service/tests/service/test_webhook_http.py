"""adapters/webhook_http.py against real receivers on 127.0.0.1: the address checked is the
address connected to (one lookup), TLS verified against the name, the answer's excerpt
bounded. (The worker's tests cover timeouts, redirects and refusals through the queue.)"""

from __future__ import annotations

import socket
import ssl
import threading
import time

import pytest
from wharf_index.adapters.webhook_http import WebhookHTTP
from wharf_index.domain.webhook_targets import parse_networks
from wharf_testing.receiver import Answer, Receiver
from wharf_testing.tls import make_tls

LOOPBACK = parse_networks("127.0.0.0/8")
HEADERS = {"Content-Type": "application/json", "X-Wharf-Delivery": "d-1"}


class Resolver:
    """getaddrinfo's stand-in: fixed addresses for a name, and the calls it got."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.calls: list[tuple] = []

    def __call__(self, host, port, type=0):  # noqa: A002 - getaddrinfo's parameter
        self.calls.append((host, port))
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in self.addresses
        ]


@pytest.fixture
def plain():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def test_the_checked_address_is_the_one_connected_to_with_the_name_as_host(plain):
    resolve = Resolver("10.1.2.3", "127.0.0.1")  # the first is not allowed: never tried
    sender = WebhookHTTP(allowed_networks=LOOPBACK, resolve=resolve, connect_timeout=1)
    outcome = sender.send(f"http://hooks.example.test:{plain.port}/in?x=1", HEADERS, b"{}")
    assert outcome.ok and outcome.status_code == 200 and outcome.response == "ok"
    assert resolve.calls == [("hooks.example.test", plain.port)]  # one lookup
    (item,) = plain.received
    assert item.headers["host"] == f"hooks.example.test:{plain.port}"
    assert item.path == "/in?x=1" and item.body == b"{}"
    assert item.headers["x-wharf-delivery"] == "d-1"


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "::1", "::ffff:127.0.0.1", "169.254.169.254", "10.0.0.1", "0.0.0.0"],  # noqa: S104
)
def test_a_name_resolving_to_a_disallowed_address_is_refused(plain, address):
    sender = WebhookHTTP(resolve=Resolver(address))
    outcome = sender.send(f"http://hooks.example.test:{plain.port}/", HEADERS, b"{}")
    assert not outcome.ok and outcome.status_code is None
    assert outcome.error.startswith(f"refused: hooks.example.test resolves to {address}")
    assert plain.connections == 0


def test_an_unresolvable_name_and_a_bad_url_fail_clearly():
    outcome = WebhookHTTP().send("http://no-such-host.invalid/", HEADERS, b"{}")
    assert outcome.error.startswith("cannot resolve no-such-host.invalid")
    assert WebhookHTTP().send("http://host:99999/", HEADERS, b"").error == "not a valid URL"


def test_only_the_first_2_kib_of_the_answer_are_kept(plain):
    plain.answer = Answer(404, body="é".encode() * 4000)  # 8000 bytes
    outcome = WebhookHTTP(allowed_networks=LOOPBACK).send(plain.url, HEADERS, b"{}")
    assert outcome.status_code == 404 and not outcome.ok and outcome.error == ""
    assert outcome.response == "é" * 1024
    assert outcome.describe() == "HTTP 404"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("tls"), sans=("localhost", "127.0.0.1"))


@pytest.fixture
def https(tls):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.server.certificate, tls.server.key)
    receiver = Receiver(tls=context).start()
    yield receiver
    receiver.stop()


def test_https_is_verified_against_the_name(tls, https):
    trusting = ssl.create_default_context(cafile=tls.ca)
    sender = WebhookHTTP(allowed_networks=LOOPBACK, tls=trusting)
    outcome = sender.send(f"https://localhost:{https.port}/hook", HEADERS, b"{}")
    assert outcome.ok, outcome
    assert https.received[0].headers["host"] == f"localhost:{https.port}"

    # The certificate names localhost, not this name (which resolves to the same address).
    wrong = WebhookHTTP(allowed_networks=LOOPBACK, tls=trusting, resolve=Resolver("127.0.0.1"))
    outcome = wrong.send(f"https://hooks.example.test:{https.port}/", HEADERS, b"{}")
    assert outcome.status_code is None and outcome.error.startswith("TLS: ")
    assert "hostname" in outcome.error.lower() or "match" in outcome.error.lower()


def test_https_uses_the_system_trust_by_default(https):
    outcome = WebhookHTTP(allowed_networks=LOOPBACK).send(
        f"https://localhost:{https.port}/", HEADERS, b"{}"
    )
    assert outcome.status_code is None
    assert outcome.error.startswith("TLS: ") and "certificate" in outcome.error
    assert https.received == []


def test_a_resolver_that_does_not_answer_ends_at_the_deadline(plain):
    answered = threading.Event()

    def hung(host, port, type=0):  # noqa: A002 - getaddrinfo's parameter
        answered.wait(10)
        return Resolver("127.0.0.1")(host, port)

    sender = WebhookHTTP(allowed_networks=LOOPBACK, timeout=1, connect_timeout=1, resolve=hung)
    started = time.monotonic()
    outcome = sender.send(f"http://hooks.example.test:{plain.port}/", HEADERS, b"{}")
    assert time.monotonic() - started < 1.5
    answered.set()
    assert outcome.error.startswith("resolving hooks.example.test took too long")
    assert "INDEX_WEBHOOK_TIMEOUT" in outcome.error and plain.connections == 0
