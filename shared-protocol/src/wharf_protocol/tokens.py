"""Registry bearer tokens: claims, issuing (Index) and verifying (Registry, Index).

Docker token authentication (distribution docs, "Token Authentication Specification" and
"Token Authentication Implementation") lets the token server pick the token format: clients
treat the token as opaque. Wharf's token is itsdangerous-signed JSON (HMAC-SHA256, salt
``"wharf.registry-token"``) holding JWT-named claims::

    {"iss": issuer, "sub": subject ("" = anonymous), "aud": registry service name,
     "iat": issued at, "nbf": not before, "exp": expires at   (seconds since the epoch),
     "jti": token id, "access": [{"type": ..., "name": ..., "actions": [...]}]}

Keys are given oldest to newest: the issuer signs with the newest (last) key and verifiers
accept any listed key (itsdangerous >= 2 key rotation). Verification applies a clock-skew
leeway (60 s by default, as distribution does) to ``exp`` and ``nbf``.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadPayload, BadSignature, URLSafeSerializer

from .scopes import Scope, ScopeInvalid, allows

__all__ = [
    "SALT",
    "Claims",
    "TokenBadSignature",
    "TokenError",
    "TokenExpired",
    "TokenIssuer",
    "TokenMalformed",
    "TokenNotYetValid",
    "TokenVerifier",
    "TokenWrongAudience",
    "TokenWrongIssuer",
]

SALT = "wharf.registry-token"
MAX_TOKEN_LENGTH = 64 * 1024
_TOKEN_RE = re.compile(r"[A-Za-z0-9_.=-]+")


class TokenError(Exception):
    """A token was refused; ``reason`` is a short machine word for logs and the wire."""

    reason = "invalid"


class TokenMalformed(TokenError):
    """The token or its claims cannot be decoded."""

    reason = "malformed"


class TokenBadSignature(TokenError):
    """No listed key produced the token's signature (forged, tampered or truncated)."""

    reason = "bad_signature"


class TokenExpired(TokenError):
    """``exp`` plus the leeway has passed."""

    reason = "expired"


class TokenNotYetValid(TokenError):
    """``nbf`` minus the leeway is still in the future."""

    reason = "not_yet_valid"


class TokenWrongAudience(TokenError):
    """``aud`` is not the verifying registry's service name."""

    reason = "wrong_audience"


class TokenWrongIssuer(TokenError):
    """``iss`` is not the expected issuer."""

    reason = "wrong_issuer"


def _field(data: Mapping[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TokenMalformed(f"claim {key!r} missing or not a {kind.__name__}")
    return value


def _scope(item: Any) -> Scope:
    if not isinstance(item, Mapping) or not isinstance(item.get("actions"), list):
        raise TokenMalformed("access entries need type, name and a list of actions")
    try:
        return Scope(item.get("type"), item.get("name"), item["actions"])
    except (ScopeInvalid, TypeError) as exc:
        raise TokenMalformed(f"invalid access entry: {exc}") from None


@dataclass(frozen=True)
class Claims:
    """The verified content of a token (JWT claim names on the wire, RFC 7519 section 4.1)."""

    issuer: str
    subject: str
    audience: str
    issued_at: int
    not_before: int
    expires_at: int
    token_id: str
    access: tuple[Scope, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the claims with JWT names; ``access`` entries list actions sorted."""
        return {
            "iss": self.issuer,
            "sub": self.subject,
            "aud": self.audience,
            "iat": self.issued_at,
            "nbf": self.not_before,
            "exp": self.expires_at,
            "jti": self.token_id,
            "access": [
                {"type": s.type, "name": s.name, "actions": sorted(s.actions)} for s in self.access
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Claims:
        """Build Claims from their JWT-named dict; raise :class:`TokenMalformed` if invalid."""
        if not isinstance(data, Mapping):
            raise TokenMalformed("claims are not a JSON object")
        access = data.get("access", [])
        if not isinstance(access, list):
            raise TokenMalformed("claim 'access' is not a list")
        return cls(
            issuer=_field(data, "iss", str),
            subject=_field(data, "sub", str),
            audience=_field(data, "aud", str),
            issued_at=_field(data, "iat", int),
            not_before=_field(data, "nbf", int),
            expires_at=_field(data, "exp", int),
            token_id=_field(data, "jti", str),
            access=tuple(_scope(item) for item in access),
        )

    def allows(self, type: str, name: str, action: str) -> bool:
        """Tell whether the token grants ``action`` on ``type:name`` (``*`` grants all)."""
        return allows(self.access, type, name, action)


def _serializer(keys: Sequence[str]) -> URLSafeSerializer:
    if isinstance(keys, str | bytes) or not isinstance(keys, Sequence) or not keys:
        raise ValueError("keys must be a non-empty sequence of strings (oldest first)")
    if not all(isinstance(key, str) and key for key in keys):
        raise ValueError("every key must be a non-empty string")
    return URLSafeSerializer(list(keys), salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})


class TokenIssuer:
    """Sign tokens with the newest of ``keys`` (the Index's token endpoint, end ``/v2/token``).

    Raises ValueError for an empty key list, an empty or non-string key, or a ttl < 1.
    """

    def __init__(
        self,
        keys: Sequence[str],
        issuer: str,
        ttl: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._serializer = _serializer(keys)
        if ttl < 1:
            raise ValueError("ttl must be at least one second")
        self.issuer, self.ttl, self._clock = issuer, ttl, clock

    def issue(
        self, subject: str, audience: str, access: Iterable[Scope], ttl: int | None = None
    ) -> tuple[str, Claims]:
        """Return a signed token and its claims (``iat`` = ``nbf`` = now, ``exp`` = now + ttl).

        ``access`` should already be the granted scopes (see :func:`scopes.intersect`).
        Raises ValueError for a ttl < 1.
        """
        ttl = self.ttl if ttl is None else ttl
        if ttl < 1:
            raise ValueError("ttl must be at least one second")
        now = int(self._clock())
        claims = Claims(
            self.issuer, subject, audience, now, now, now + ttl, uuid.uuid4().hex, tuple(access)
        )
        return self._serializer.dumps(claims.to_dict()), claims

    def __repr__(self) -> str:
        return f"TokenIssuer(issuer={self.issuer!r}, ttl={self.ttl})"


class TokenVerifier:
    """Verify tokens signed with any of ``keys``; check issuer, audience and time.

    ``issuer``/``audience`` are checked only when given (here or per call). Raises ValueError
    for bad keys or a negative leeway.
    """

    def __init__(
        self,
        keys: Sequence[str],
        issuer: str | None = None,
        audience: str | None = None,
        leeway: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._serializer = _serializer(keys)
        if leeway < 0:
            raise ValueError("leeway must not be negative")
        self.issuer, self.audience, self.leeway, self._clock = issuer, audience, leeway, clock

    def _decode(self, token: str) -> Claims:
        if (
            not isinstance(token, str)
            or len(token) > MAX_TOKEN_LENGTH
            or not _TOKEN_RE.fullmatch(token)
        ):
            raise TokenMalformed("token is not a URL-safe signed string")
        try:
            data = self._serializer.loads(token)
        except BadPayload:
            raise TokenMalformed("token payload cannot be decoded") from None
        except BadSignature:
            raise TokenBadSignature("token signature does not match any key") from None
        return Claims.from_dict(data)

    def verify(self, token: str, audience: str | None = None) -> Claims:
        """Return the token's claims if it is valid now.

        Checks, in order: format and signature (:class:`TokenMalformed`,
        :class:`TokenBadSignature`), ``exp`` (:class:`TokenExpired` once now >= exp + leeway),
        ``nbf`` (:class:`TokenNotYetValid` while now < nbf - leeway), ``iss``
        (:class:`TokenWrongIssuer`), ``aud`` against ``audience`` or the configured one
        (:class:`TokenWrongAudience`). Never raises anything but :class:`TokenError`.
        """
        claims = self._decode(token)
        now = self._clock()
        if now >= claims.expires_at + self.leeway:
            raise TokenExpired(f"token expired at {claims.expires_at}")
        if now < claims.not_before - self.leeway:
            raise TokenNotYetValid(f"token not valid before {claims.not_before}")
        if self.issuer is not None and claims.issuer != self.issuer:
            raise TokenWrongIssuer(f"token issued by {claims.issuer!r}")
        expected = audience if audience is not None else self.audience
        if expected is not None and claims.audience != expected:
            raise TokenWrongAudience(f"token is for {claims.audience!r}, not {expected!r}")
        return claims

    def __repr__(self) -> str:
        return f"TokenVerifier(issuer={self.issuer!r}, audience={self.audience!r})"
