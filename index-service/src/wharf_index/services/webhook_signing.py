"""The headers of a webhook delivery and how a receiver verifies them (pure functions).

Every attempt carries (index-service/README.md, "Verifying a delivery")::

    Content-Type:       application/json (format dockerhub)
                        application/cloudevents+json (format cloudevents)
    User-Agent:         Wharf-Webhooks/<version>
    X-Wharf-Delivery:   <delivery id, a uuid; the same on every attempt of a delivery>
    X-Wharf-Event:      tag_pushed | tag_deleted | repository_deleted | ping
    X-Wharf-Timestamp:  <unix seconds when this attempt was signed>
    X-Wharf-Signature:  sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

The signature covers the timestamp and the exact body bytes, so neither can be changed;
a receiver rejects timestamps too far from its clock (:func:`verify`, ``tolerance``) and
remembers delivery ids to drop redeliveries and replays within that window.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

CONTENT_TYPES = {"dockerhub": "application/json", "cloudevents": "application/cloudevents+json"}
SCHEME = "sha256="
TOLERANCE = 300


class SignatureInvalid(Exception):
    """A delivery whose signature does not verify (the message says why)."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 of ``"<timestamp>." + body`` under ``secret``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def headers(
    *,
    secret: str,
    delivery_id: str,
    event: str,
    format: str,  # noqa: A002 - the webhook's column name
    body: bytes,
    timestamp: int,
    version: str,
) -> dict[str, str]:
    """The headers of one attempt (module docstring)."""
    return {
        "Content-Type": CONTENT_TYPES[format],
        "User-Agent": f"Wharf-Webhooks/{version}",
        "X-Wharf-Delivery": delivery_id,
        "X-Wharf-Event": event,
        "X-Wharf-Timestamp": str(timestamp),
        "X-Wharf-Signature": signature(secret, timestamp, body),
    }


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, now: float, tolerance: int = TOLERANCE
) -> int:
    """Check a received delivery as a receiver should; return its timestamp, or raise
    :class:`SignatureInvalid`. ``headers`` may be any mapping with ``items()`` (names are
    compared without case); ``now`` is the receiver's clock (unix seconds). The comparison
    takes constant time. A receiver should then also refuse a ``X-Wharf-Delivery`` it has
    already accepted (replays within the tolerance, and redeliveries)."""
    found = {name.lower(): value for name, value in headers.items()}
    raw_timestamp = found.get("x-wharf-timestamp", "")
    given = found.get("x-wharf-signature", "")
    if not raw_timestamp.isascii() or not raw_timestamp.isdigit():
        raise SignatureInvalid("missing or malformed X-Wharf-Timestamp")
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > tolerance:
        raise SignatureInvalid(f"timestamp more than {tolerance} s away from now")
    if not hmac.compare_digest(given.encode(), signature(secret, timestamp, body).encode()):
        raise SignatureInvalid("signature does not match")
    return timestamp
