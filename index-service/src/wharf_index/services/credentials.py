"""High-entropy secrets: access tokens and registry credentials, shown once, stored hashed.

A secret is 32 random bytes (256 bits, URL-safe base64). Since nobody can guess it, a slow
KDF adds nothing; it is stored as HMAC-SHA256(key=<purpose label>, secret): fast (the token
endpoint checks one per request), and domain-separated so an access-token hash can never
be replayed as a registry-credential hash. The HMAC key is a fixed label, not
INDEX_SECRET_KEY, on purpose: rotating the secret key must not invalidate every token
and registry credential (a 256-bit secret needs no pepper).

Access token format: ``wharf_pat_<public_id>_<secret>``; ``public_id`` (12 characters of
[a-z0-9]) finds the row, the secret is checked against the hash in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

ACCESS_TOKEN_PREFIX = "wharf_pat_"  # noqa: S105 - a public prefix, not a secret
ACCESS_TOKEN_RE = re.compile(r"^wharf_pat_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")
PURPOSE_ACCESS_TOKEN = b"wharf-index.access-token.v1"
PURPOSE_REGISTRY = b"wharf-index.registry-credential.v1"
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def new_secret() -> str:
    """Return 256 random bits as 43 URL-safe base64 characters."""
    return secrets.token_urlsafe(32)


def new_public_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(12))


def hash_secret(purpose: bytes, secret: str) -> bytes:
    """Return HMAC-SHA256(purpose, secret) (32 bytes)."""
    return hmac.new(purpose, secret.encode("utf-8"), hashlib.sha256).digest()


def matches(purpose: bytes, secret: str, stored: bytes) -> bool:
    """Compare ``secret`` with a stored hash in constant time."""
    return hmac.compare_digest(hash_secret(purpose, secret), stored)


def format_access_token(public_id: str, secret: str) -> str:
    return f"{ACCESS_TOKEN_PREFIX}{public_id}_{secret}"


def parse_access_token(value: str) -> tuple[str, str] | None:
    """Return (public_id, secret) of a well-formed access token string, else None."""
    match = ACCESS_TOKEN_RE.match(value or "")
    return (match.group(1), match.group(2)) if match else None


def looks_like_access_token(value: str) -> bool:
    return isinstance(value, str) and value.startswith(ACCESS_TOKEN_PREFIX)
