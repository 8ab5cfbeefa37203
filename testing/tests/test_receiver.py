"""wharf_testing.receiver: recording, answers, drip, hold, restart on the same port, TLS."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from wharf_testing.receiver import Answer, Received, Receiver


@pytest.fixture
def receiver():
    started = Receiver().start()
    yield started
    started.stop()


def test_a_request_is_recorded_and_answered(receiver):
    before = time.monotonic()
    response = requests.post(
        receiver.url + "/hook?x=1", data=b"\x00body", headers={"X-Mixed-Case": "v"}, timeout=5
    )
    assert (response.status_code, response.content) == (200, b"ok")
    (item,) = receiver.received
    assert (item.method, item.path, item.body) == ("POST", "/hook?x=1", b"\x00body")
    assert item.headers["x-mixed-case"] == "v" and item.header("X-MIXED-CASE") == "v"
    assert "X-Mixed-Case" not in item.headers and item.header("absent") == ""
    assert before <= item.at <= time.monotonic()
    assert receiver.url == f"http://127.0.0.1:{receiver.port}" and receiver.port != 0
    assert receiver.connections == 1


def test_other_methods_and_json_bodies(receiver):
    requests.put(receiver.url + "/a", json={"k": [1]}, timeout=5)
    requests.get(receiver.url + "/b", timeout=5)
    first, second = receiver.wait_for(2)
    assert (first.method, first.json()) == ("PUT", {"k": [1]})
    assert (second.method, second.path, second.body) == ("GET", "/b", b"")


def test_the_answer_is_configurable_while_running(receiver):
    receiver.answer = Answer(302, {"Location": "http://elsewhere.test/x"}, b"moved")
    response = requests.post(receiver.url, data=b"{}", allow_redirects=False, timeout=5)
    assert response.status_code == 302 and response.content == b"moved"
    assert response.headers["Location"] == "http://elsewhere.test/x"
    receiver.answer = Answer(503, body=b"")
    assert requests.post(receiver.url, timeout=5).status_code == 503


def test_drip_writes_the_answer_one_byte_at_a_time(receiver):
    receiver.answer = Answer(200, body=b"slow", drip=0.01)
    length = len(receiver.answer.raw())
    started = time.monotonic()
    response = requests.post(receiver.url, timeout=10)
    assert response.content == b"slow"
    assert time.monotonic() - started >= (length - 1) * 0.01  # a pause after each byte but the last


def test_stop_refuses_connections_and_start_reopens_the_same_port(receiver):
    port = receiver.port
    receiver.stop()
    with pytest.raises(requests.ConnectionError):
        requests.post(receiver.url, timeout=5)
    receiver.start()
    assert receiver.port == port
    assert requests.post(receiver.url + "/back", timeout=5).status_code == 200
    assert [item.path for item in receiver.received] == ["/back"]


def test_a_port_given_before_start_is_the_url():
    port = Receiver().start()
    port.stop()
    later = Receiver(port=port.port)
    assert later.url == f"http://127.0.0.1:{port.port}"
    with pytest.raises(RuntimeError, match="no port yet"):
        _ = Receiver().url


def test_held_requests_wait_for_release(receiver):
    receiver.hold()
    answers = []
    sender = threading.Thread(
        target=lambda: answers.append(requests.post(receiver.url, timeout=10).status_code)
    )
    sender.start()
    assert receiver.held.wait(5)
    assert len(receiver.received) == 1  # recorded before it waits
    sender.join(0.3)
    assert sender.is_alive() and answers == []
    receiver.release()
    sender.join(5)
    assert answers == [200]
    assert requests.post(receiver.url, timeout=5).status_code == 200  # no longer holding


def test_connections_are_counted_even_without_a_request(receiver):
    assert receiver.connections == 0
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=5):
        pass
    deadline = time.monotonic() + 5
    while receiver.connections == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert receiver.connections == 1 and receiver.received == []


def test_wait_fails_clearly_with_what_arrived(receiver):
    requests.post(receiver.url + "/only", data=b"payload", timeout=5)
    assert len(receiver.wait(lambda got: got and got[0].path == "/only", timeout=1)) == 1
    with pytest.raises(AssertionError, match=r"within 0.2 s.*'POST', '/only', b'payload'"):
        receiver.wait_for(2, timeout=0.2)
    with pytest.raises(AssertionError, match="condition not met"):
        receiver.wait(lambda got: False, timeout=0.1)


def test_wait_returns_as_soon_as_a_request_arrives(receiver):
    threading.Timer(0.2, lambda: requests.post(receiver.url, timeout=5)).start()
    started = time.monotonic()
    assert len(receiver.wait_for(1, timeout=10)) == 1
    assert time.monotonic() - started < 5


@dataclass(frozen=True)
class Tagged(Received):
    length: int = 0


class TaggingReceiver(Receiver):
    def record(self, received: Received) -> Received:
        return Tagged(**vars(received), length=len(received.body))


def test_record_lets_a_suite_keep_more():
    receiver = TaggingReceiver().start()
    try:
        requests.post(receiver.url, data=b"12345", timeout=5)
        (item,) = receiver.received
        assert isinstance(item, Tagged) and item.length == 5 and item.body == b"12345"
    finally:
        receiver.stop()


def _self_signed(directory) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "receiver test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def test_tls(tmp_path):
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver = Receiver(tls=context).start()
    try:
        assert receiver.url.startswith("https://127.0.0.1:")
        with pytest.raises(requests.exceptions.SSLError):
            requests.post(receiver.url, timeout=5)  # not trusted: nothing recorded
        response = requests.post(receiver.url + "/secure", data=b"x", verify=cert, timeout=5)
        assert response.status_code == 200
        assert [item.path for item in receiver.received] == ["/secure"]
    finally:
        receiver.stop()
