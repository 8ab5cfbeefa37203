"""``REGISTRY_AUTH=htpasswd``: HTTP Basic against a bcrypt htpasswd file (scenario D).

The file is read once at start-up; only bcrypt entries (``htpasswd -B``: ``$2y$``, also
``$2a$``/``$2b$``) are accepted, any other line is a configuration error naming its line
number. Every authenticated user may do everything (like the reference registry's htpasswd
access controller); anonymous requests get ``401`` with ``WWW-Authenticate: Basic realm=..``.

bcrypt is slow on purpose, so successful checks are remembered for a short time, keyed by an
HMAC of the credentials under a random per-process key (the cache never holds a password or
anything that can be checked offline against one). Unknown users still cost one bcrypt
check, against a dummy hash made once at start-up with the cost most entries of the file use
(the highest of equally common costs): an unknown user and a wrong password then cost the same
time, so response times do not reveal which users exist. Costs must be bcrypt's 4..31.
Passwords are checked on their first 72 bytes, all that bcrypt (and ``htpasswd -B``) hashes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping

import bcrypt
from flask import Request
from wharf_protocol.scopes import Scope, basic_challenge

from .base import AuthenticationRequired, Authenticator, Identity

logger = logging.getLogger(__name__)

BCRYPT_RE = re.compile(r"\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}")
CACHE_TTL = 60.0
CACHE_SIZE = 1024
MIN_COST, MAX_COST = 4, 31  # what bcrypt accepts
DEFAULT_COST = 10  # the dummy's cost when the file has no entries
MAX_PASSWORD_BYTES = 72  # bcrypt ignores the rest (and the bcrypt package refuses it)


class HtpasswdError(ValueError):
    """The htpasswd file is missing, unreadable or has a non-bcrypt entry."""


def load_htpasswd(path: str) -> dict[str, bytes]:
    """Return ``{user: bcrypt hash}`` from the file at ``path``; HtpasswdError if unusable."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise HtpasswdError(f"cannot read htpasswd file {path}: {exc}") from None
    users = {}
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user or not BCRYPT_RE.fullmatch(hashed):
            raise HtpasswdError(
                f"{path} line {number}: only bcrypt entries (htpasswd -B) are supported"
            )
        if not MIN_COST <= bcrypt_cost(hashed.encode()) <= MAX_COST:
            raise HtpasswdError(f"{path} line {number}: bcrypt cost must be {MIN_COST}..{MAX_COST}")
        users[user] = hashed.encode()
    return users


def bcrypt_cost(hashed: bytes) -> int:
    """Return the cost (log2 rounds) of a bcrypt hash ``$2y$<cost>$...``."""
    return int(hashed[4:6])


def dummy_cost(users: Mapping[str, bytes]) -> int:
    """Return the cost an unknown user's check must pay: the most common cost in ``users``.

    Ties go to the highest cost; an empty file gives ``DEFAULT_COST``.
    """
    counts = Counter(bcrypt_cost(hashed) for hashed in users.values())
    if not counts:
        return DEFAULT_COST
    return max(counts, key=lambda cost: (counts[cost], cost))


class HtpasswdAuth(Authenticator):
    """Basic authentication against bcrypt hashes, with a short success cache."""

    name = "htpasswd"

    def __init__(
        self, users: dict[str, bytes], realm: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._users = users
        self._realm = realm
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._cache: dict[bytes, float] = {}
        self._lock = threading.Lock()
        self._dummy = bcrypt.hashpw(
            secrets.token_bytes(16), bcrypt.gensalt(rounds=dummy_cost(users))
        )

    @classmethod
    def from_file(cls, path: str, realm: str) -> HtpasswdAuth:
        """Read ``path`` (HtpasswdError if unusable) and build the backend."""
        return cls(load_htpasswd(path), realm)

    def authenticate(self, request: Request) -> Identity:
        """Return the Basic user if the password matches; else AuthenticationRequired."""
        user, password = _basic_credentials(request.headers.get("Authorization", ""))
        if not self._check(user, password):
            logger.info("authentication failed for user %r", user)
            raise AuthenticationRequired("invalid username or password")
        return Identity(name=user)

    def challenge(self, scopes: tuple[Scope, ...] | list[Scope], error: str | None = None) -> str:
        """Return ``Basic realm="<realm>"``."""
        return basic_challenge(self._realm)

    def _check(self, user: str, password: str) -> bool:
        key = hmac.new(self._key, f"{user}\0{password}".encode(), hashlib.sha256).digest()
        now = self._clock()
        with self._lock:
            expires = self._cache.get(key)
        if expires is not None and expires > now:
            return True
        hashed = self._users.get(user)
        secret = password.encode()[:MAX_PASSWORD_BYTES]
        ok = bcrypt.checkpw(secret, hashed or self._dummy) and hashed is not None
        if ok:
            with self._lock:
                if len(self._cache) >= CACHE_SIZE:
                    self._cache.clear()
                self._cache[key] = now + CACHE_TTL
        return ok


def _basic_credentials(header: str) -> tuple[str, str]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise AuthenticationRequired()
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationRequired("malformed Basic credentials") from None
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        raise AuthenticationRequired("malformed Basic credentials")
    return user, password
