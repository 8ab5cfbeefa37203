"""Password hashing with scrypt (``hashlib.scrypt``, RFC 7914).

Why scrypt and not bcrypt (also installed): scrypt is memory-hard (GPU/ASIC attacks cost
memory, not only time), ships with Python (no native extension to keep in step), and has
no input limit, whereas bcrypt silently truncates (bcrypt < 5) or refuses (bcrypt >= 5)
passwords over 72 bytes.

Parameters: N = 2**15 (``INDEX_PASSWORD_SCRYPT_N``), r = 8, p = 1, 16-byte random salt per
password, 32-byte key. That is 32 MiB and roughly 0.1 s per hash on one core of the test
machine (OWASP's "N=2^15, r=8, p=3" class; p = 1 keeps token requests from one thread
cheap, the credential cache covers Docker's repeated requests). Stored as::

    $scrypt$ln=15,r=8,p=1$<salt, base64>$<key, base64>

so the parameters travel with each hash: raising N later keeps old hashes verifiable and
:meth:`PasswordHasher.needs_rehash` tells when to upgrade one at the next login.
Passwords are never stored, logged, or put into exception messages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import threading

SALT_BYTES = 16
KEY_BYTES = 32
_FORMAT = re.compile(
    r"^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$"
)  # noqa: E501 - one regex reads better unbroken
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class PasswordHasher:
    """Hash and verify passwords with scrypt(n, r, p); ``n`` a power of two >= 1024."""

    def __init__(self, n: int = 1 << 15, r: int = 8, p: int = 1) -> None:
        if n < 1024 or n & (n - 1):
            raise ValueError("scrypt n must be a power of two >= 1024")
        self.n, self.r, self.p = n, r, p
        self._dummy: str | None = None
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        """Return the encoded hash of ``password`` with a fresh random salt."""
        salt = os.urandom(SALT_BYTES)
        key = _scrypt(password, salt, self.n, self.r, self.p)
        params = f"ln={self.n.bit_length() - 1},r={self.r},p={self.p}"
        return f"$scrypt${params}${_b64(salt)}${_b64(key)}"

    def verify(self, password: str, encoded: str | None) -> bool:
        """Tell whether ``password`` matches ``encoded`` (False for None or malformed).

        With ``encoded`` None the work of a real check is still done, so the time taken does
        not reveal whether an account exists.
        """
        if encoded is None:
            encoded = self._dummy_hash()
            self._check(password, encoded)
            return False
        return self._check(password, encoded)

    def needs_rehash(self, encoded: str) -> bool:
        """Tell whether ``encoded`` used weaker parameters than this hasher's."""
        match = _FORMAT.match(encoded or "")
        if not match:
            return True
        ln, r, p = (int(g) for g in match.groups()[:3])
        return (1 << ln, r, p) != (self.n, self.r, self.p)

    def _check(self, password: str, encoded: str) -> bool:
        match = _FORMAT.match(encoded)
        if not match:
            return False
        ln, r, p = (int(g) for g in match.groups()[:3])
        if not 10 <= ln <= 20 or not 1 <= r <= 32 or not 1 <= p <= 16:
            return False
        salt = base64.b64decode(match.group(4))
        expected = base64.b64decode(match.group(5))
        actual = _scrypt(password, salt, 1 << ln, r, p, len(expected))
        return hmac.compare_digest(actual, expected)

    def _dummy_hash(self) -> str:
        with self._lock:
            if self._dummy is None:
                self._dummy = self.hash(_b64(os.urandom(12)))
            return self._dummy


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int = KEY_BYTES) -> bytes:
    maxmem = 128 * r * n * p + 128 * r * (n + 2) + (1 << 20)
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=dklen
    )


def check_password_rules(password: object) -> str:
    """Return ``password`` if acceptable; raise PasswordInvalid (no echo of the value)."""
    from ..domain.errors import PasswordInvalid

    if not isinstance(password, str) or not password:
        raise PasswordInvalid("a password is required")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordInvalid(f"passwords are at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordInvalid(f"passwords are at most {MAX_PASSWORD_LENGTH} characters")
    if "\x00" in password:
        raise PasswordInvalid("passwords must not contain NUL characters")
    return password
