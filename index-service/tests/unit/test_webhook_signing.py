"""services/webhook_signing.py: the headers of an attempt and verify(), as receivers use it."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from wharf_index.services.webhook_signing import SignatureInvalid, headers, signature, verify

SECRET = "shared-secret"
BODY = '{"tag": "v1", "text": "café"}'.encode()
NOW = 1_780_000_000


def signed(**overrides):
    values = {
        "secret": SECRET,
        "delivery_id": "0b7e4c1e-6a53-4f43-9a55-0d7c1b4b2d10",
        "event": "tag_pushed",
        "format": "dockerhub",
        "body": BODY,
        "timestamp": NOW,
        "version": "1.2.3",
        **overrides,
    }
    return headers(**values)


def test_the_headers_of_an_attempt():
    sent = signed()
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sent == {
        "Content-Type": "application/json",
        "User-Agent": "Wharf-Webhooks/1.2.3",
        "X-Wharf-Delivery": "0b7e4c1e-6a53-4f43-9a55-0d7c1b4b2d10",
        "X-Wharf-Event": "tag_pushed",
        "X-Wharf-Timestamp": str(NOW),
        "X-Wharf-Signature": "sha256=" + expected,
    }
    assert signed(format="cloudevents")["Content-Type"] == "application/cloudevents+json"


def test_a_genuine_delivery_verifies_whatever_the_header_case():
    sent = {name.lower(): value for name, value in signed().items()}
    assert verify(SECRET, sent, BODY, NOW + 10) == NOW
    assert verify(SECRET, signed(), BODY, NOW - 299) == NOW


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda h, b: (h, b + b" "), "does not match"),  # body tampered
        (lambda h, b: (h, b.replace(b"v1", b"v2")), "does not match"),
        (lambda h, b: ({**h, "X-Wharf-Timestamp": str(NOW + 1)}, b), "does not match"),
        (lambda h, b: ({**h, "X-Wharf-Signature": "sha256=" + "0" * 64}, b), "does not match"),
        (lambda h, b: ({**h, "X-Wharf-Signature": h["X-Wharf-Signature"][7:]}, b), "match"),
        (lambda h, b: ({k: v for k, v in h.items() if "Signature" not in k}, b), "match"),
        (lambda h, b: ({**h, "X-Wharf-Timestamp": "soon"}, b), "malformed X-Wharf-Timestamp"),
        (lambda h, b: ({**h, "X-Wharf-Timestamp": "１２３"}, b), "malformed"),  # not ASCII
        (lambda h, b: ({k: v for k, v in h.items() if "Time" not in k}, b), "malformed"),
    ],
)
def test_tampering_is_detected(change, reason):
    sent, body = change(signed(), BODY)
    with pytest.raises(SignatureInvalid, match=reason):
        verify(SECRET, sent, body, NOW)


def test_another_secret_does_not_verify():
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify("other-secret", signed(), BODY, NOW)


@pytest.mark.parametrize("skew", [301, -301, 86400])
def test_a_replay_outside_the_tolerance_is_refused(skew):
    with pytest.raises(SignatureInvalid, match="more than 300 s away"):
        verify(SECRET, signed(), BODY, NOW + skew)
    assert verify(SECRET, signed(), BODY, NOW + skew, tolerance=abs(skew)) == NOW


def test_the_signature_is_over_the_timestamp_and_the_exact_bytes():
    assert signature(SECRET, NOW, BODY) != signature(SECRET, NOW + 1, BODY)
    assert signature(SECRET, NOW, BODY) != signature(SECRET, NOW, BODY.replace(b" ", b""))
    assert signature(SECRET, 12, b"3.x") != signature(SECRET, 123, b".x")  # the dot separates
