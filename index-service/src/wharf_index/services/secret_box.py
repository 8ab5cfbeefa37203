"""Seal short secrets the Index must read back (webhook signing secrets) under INDEX_SECRET_KEY.

A hash will not do for a secret the Index itself uses (an HMAC key), so it is stored
encrypted: AES-256-GCM (``cryptography``) with a key derived per purpose::

    key = HMAC-SHA256(key=INDEX_SECRET_KEY, msg=label)

and a random 96-bit nonce. The sealed form is ``v1.<urlsafe base64 of nonce || ciphertext>``;
the label is also the associated data, so a value sealed for one purpose does not open
for another. A database dump alone holds no secret; a changed ``INDEX_SECRET_KEY`` makes
sealed values unreadable (:class:`SecretUnreadable`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1."
NONCE_BYTES = 12
WEBHOOK_SECRET = b"wharf-index.webhook-secret.v1"


class SecretUnreadable(Exception):
    """A sealed value does not open with this INDEX_SECRET_KEY (changed, or corrupt)."""


def _cipher(secret_key: str, label: bytes) -> AESGCM:
    return AESGCM(hmac.new(secret_key.encode(), label, hashlib.sha256).digest())


def seal(secret_key: str, plaintext: str, label: bytes = WEBHOOK_SECRET) -> str:
    """Encrypt ``plaintext`` for storage (module docstring)."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(secret_key, label).encrypt(nonce, plaintext.encode(), label)
    return VERSION + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(secret_key: str, sealed: str, label: bytes = WEBHOOK_SECRET) -> str:
    """Decrypt what :func:`seal` made; raise :class:`SecretUnreadable` otherwise."""
    if not sealed.startswith(VERSION):
        raise SecretUnreadable("unknown sealed format")
    try:
        raw = base64.urlsafe_b64decode(sealed[len(VERSION) :].encode())
        plain = _cipher(secret_key, label).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], label)
    except (binascii.Error, ValueError, InvalidTag):
        raise SecretUnreadable("sealed with another INDEX_SECRET_KEY, or corrupt") from None
    return plain.decode()
