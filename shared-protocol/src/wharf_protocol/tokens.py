"""Registry bearer tokens: claims, issuing (Index) and verifying (Registry, Index).

Docker token authentication (distribution docs, "Token Authentication Specification" and
"Token Authentication Implementation"): a token is a JWT (RFC 7519) in JWS compact form
(RFC 7515), signed with ES256 or RS256 (RFC 7518 section 3), whose header names its key
(``kid``, RFC 7638 thumbprint) and carries the key's certificate (``x5c``), so that any
registry holding the published public keys (:mod:`wharf_protocol.keys`) can check it and
none can mint one. The claims::

    {"iss": issuer, "sub": subject ("" = anonymous), "aud": registry service name,
     "iat": issued at, "nbf": not before, "exp": expires at   (seconds since the epoch),
     "jti": token id, "access": [{"type": ..., "name": ..., "actions": [...]}],
     "wharf": {...}}   (optional: the Index's policy, :mod:`wharf_protocol.policy`)

Other token servers may leave out ``sub``, ``iat``, ``nbf`` and ``jti`` (the reference
registry needs none of them): they default to ``""``, 0, ``iat`` and ``""``. Verification
applies a clock-skew leeway (60 s by default, as the reference registry does) to ``exp``
and ``nbf``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from . import jsondepth
from .keys import ALGORITHMS, KeySet, PublicKey, SigningKey
from .policy import CLAIM as POLICY_CLAIM
from .policy import EMPTY as NO_POLICY
from .policy import Policy, PolicyInvalid
from .scopes import Scope, ScopeInvalid, allows

__all__ = [
    "Claims",
    "TokenBadSignature",
    "TokenError",
    "TokenExpired",
    "TokenIssuer",
    "TokenMalformed",
    "TokenNotYetValid",
    "TokenUnknownKey",
    "TokenVerifier",
    "TokenWrongAudience",
    "TokenWrongIssuer",
]

MAX_TOKEN_LENGTH = 64 * 1024
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
KeySource = SigningKey | Callable[[], SigningKey]
KeyFinder = Callable[[Mapping[str, Any]], PublicKey | None]


class TokenError(Exception):
    """A token was refused; ``reason`` is a short machine word for logs and the wire."""

    reason = "invalid"


class TokenMalformed(TokenError):
    """The token or its claims cannot be decoded."""

    reason = "malformed"


class TokenBadSignature(TokenError):
    """The token's key did not produce its signature (forged, tampered or truncated)."""

    reason = "bad_signature"


class TokenUnknownKey(TokenBadSignature):
    """The token's header names no trusted key (another server's, or a retired one)."""

    reason = "unknown_key"


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


_REQUIRED = object()


def _field(data: Mapping[str, Any], key: str, kind: type, default: Any = _REQUIRED) -> Any:
    if key not in data and default is not _REQUIRED:
        return default
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
    policy: Policy = NO_POLICY

    def to_dict(self) -> dict[str, Any]:
        """Return the claims with JWT names; ``access`` entries list actions sorted; the
        ``wharf`` policy claim only when the policy is not empty."""
        claims = {
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
        if self.policy:
            claims[POLICY_CLAIM] = self.policy.to_claim()
        return claims

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Claims:
        """Build Claims from their JWT-named dict; raise :class:`TokenMalformed` if invalid."""
        if not isinstance(data, Mapping):
            raise TokenMalformed("claims are not a JSON object")
        access = data.get("access", [])
        if not isinstance(access, list):
            raise TokenMalformed("claim 'access' is not a list")
        issued_at = _field(data, "iat", int, 0)
        try:
            policy = Policy.from_claim(data.get(POLICY_CLAIM))
        except PolicyInvalid as exc:
            raise TokenMalformed(f"claim {POLICY_CLAIM!r}: {exc}") from None
        return cls(
            issuer=_field(data, "iss", str),
            subject=_field(data, "sub", str, ""),
            audience=_field(data, "aud", str),
            issued_at=issued_at,
            not_before=_field(data, "nbf", int, issued_at),
            expires_at=_field(data, "exp", int),
            token_id=_field(data, "jti", str, ""),
            access=tuple(_scope(item) for item in access),
            policy=policy,
        )

    def allows(self, type: str, name: str, action: str) -> bool:
        """Tell whether the token grants ``action`` on ``type:name`` (``*`` grants all)."""
        return allows(self.access, type, name, action)


def _signing_key(source: KeySource) -> SigningKey:
    key = source() if callable(source) else source
    if not isinstance(key, SigningKey):
        raise ValueError("the issuer needs a SigningKey (or a callable returning one)")
    return key


class TokenIssuer:
    """Sign tokens (the Index's token endpoint, ``/v2/token``) as JWTs with a ``kid`` and
    ``x5c`` header (see :mod:`wharf_protocol.keys`).

    ``key`` is the :class:`SigningKey`, or a callable returning the current one (a token
    server that rotates keys). Raises ValueError for a ttl < 1.
    """

    def __init__(
        self,
        key: KeySource,
        issuer: str,
        ttl: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not callable(key):  # a callable is asked per token, never here
            _signing_key(key)
        if ttl < 1:
            raise ValueError("ttl must be at least one second")
        self._key = key
        self.issuer, self.ttl, self._clock = issuer, ttl, clock
        self._header: tuple[SigningKey, str] | None = None  # the last key, its header segment

    def issue(
        self,
        subject: str,
        audience: str,
        access: Iterable[Scope],
        ttl: int | None = None,
        policy: Policy = NO_POLICY,
    ) -> tuple[str, Claims]:
        """Return a signed token and its claims (``iat`` = ``nbf`` = now, ``exp`` = now + ttl).

        ``access`` should already be the granted scopes (see :func:`scopes.intersect`);
        ``policy`` is what the registry must enforce for them (:mod:`wharf_protocol.policy`).
        Raises ValueError for a ttl < 1.
        """
        ttl = self.ttl if ttl is None else ttl
        if ttl < 1:
            raise ValueError("ttl must be at least one second")
        key = _signing_key(self._key)
        now = int(self._clock())
        claims = Claims(
            self.issuer,
            subject,
            audience,
            now,
            now,
            now + ttl,
            uuid.uuid4().hex,
            tuple(access),
            policy,
        )
        payload = json.dumps(claims.to_dict(), separators=(",", ":")).encode()
        signing_input = f"{self._header_segment(key)}.{_b64encode(payload)}"
        signature = _VERIFIERS[key.algorithm].sign(signing_input.encode("ascii"), key.private_key)
        return f"{signing_input}.{_b64encode(signature)}", claims

    def _header_segment(self, key: SigningKey) -> str:
        """The encoded JWS header of ``key``'s tokens, made once per key: with its ~1 KB
        certificate, making it per token cost as much as the ES256 signature."""
        cached = self._header
        if cached is None or cached[0] is not key:
            header = {"alg": key.algorithm, "kid": key.kid, "typ": "JWT", "x5c": key.x5c}
            encoded = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
            cached = self._header = (key, _b64encode(encoded))
        return cached[1]

    def __repr__(self) -> str:
        return f"TokenIssuer(issuer={self.issuer!r}, ttl={self.ttl})"


def _b64encode(data: bytes) -> str:
    """Encode one JWS segment (base64url without padding, RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(segment: str) -> bytes:
    """Decode one JWS segment (base64url without padding, RFC 7515 section 2)."""
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (ValueError, binascii.Error):
        raise TokenMalformed("token segment is not base64url") from None


def _json_object(segment: str, what: str) -> dict[str, Any]:
    try:
        value = jsondepth.loads(_b64decode(segment))
    except (ValueError, UnicodeDecodeError):
        raise TokenMalformed(f"token {what} is not JSON") from None
    if not isinstance(value, dict):
        raise TokenMalformed(f"token {what} is not a JSON object")
    return value


# PyJWT's algorithm objects, used directly (to verify and to sign: ``sign`` gives the JWS
# signature, raw r || s for ES256): the token is split and decoded once here, in C
# (binascii), rather than re-validated character by character for every step.
_VERIFIERS = {name: jwt.get_algorithm_by_name(name) for name in ALGORITHMS}


class TokenVerifier:
    """Verify JWTs signed by any key of ``keys``; check issuer, audience and time.

    ``keys`` is a :class:`KeySet` or a callable taking the token's JWS header and returning
    its :class:`PublicKey` or None (a fetched key set that refreshes on an unknown ``kid``).
    ``issuer``/``audience`` are checked only when given (here or per call). Raises
    ValueError for a negative leeway.
    """

    def __init__(
        self,
        keys: KeySet | KeyFinder,
        issuer: str | None = None,
        audience: str | None = None,
        leeway: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if leeway < 0:
            raise ValueError("leeway must not be negative")
        self._find = keys.find if isinstance(keys, KeySet) else keys
        self.issuer, self.audience, self.leeway, self._clock = issuer, audience, leeway, clock

    def _decode(self, token: str) -> dict[str, Any]:
        if (
            not isinstance(token, str)
            or len(token) > MAX_TOKEN_LENGTH
            or not _TOKEN_RE.fullmatch(token)
        ):
            raise TokenMalformed("token is not a JWT")
        header_segment, payload_segment, signature_segment = token.split(".")
        header = _json_object(header_segment, "header")
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise TokenMalformed(f"token algorithm must be one of {', '.join(ALGORITHMS)}")
        key = self._find(header)
        if key is None:
            raise TokenUnknownKey("token is signed by a key that is not trusted")
        if key.algorithm != algorithm:  # no algorithm confusion: the key decides
            raise TokenBadSignature("token algorithm is not its key's")
        signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
        signature = _b64decode(signature_segment)
        if not _VERIFIERS[algorithm].verify(signing_input, key.key, signature):
            raise TokenBadSignature("token signature does not match its key")
        return _json_object(payload_segment, "payload")

    def verify(self, token: str, audience: str | None = None) -> Claims:
        """Return the token's claims if it is valid now.

        Checks, in order: format and signature (:class:`TokenMalformed`,
        :class:`TokenUnknownKey`, :class:`TokenBadSignature`), ``exp``
        (:class:`TokenExpired` once now >= exp + leeway), ``nbf``
        (:class:`TokenNotYetValid` while now < nbf - leeway), ``iss``
        (:class:`TokenWrongIssuer`), ``aud`` against ``audience`` or the configured one
        (:class:`TokenWrongAudience`; an ``aud`` list must contain it, RFC 7519 section
        4.1.3). Never raises anything but :class:`TokenError`.
        """
        data = self._decode(token)
        expected = audience if audience is not None else self.audience
        aud = data.get("aud")
        if isinstance(aud, list):
            if not all(isinstance(item, str) for item in aud):
                raise TokenMalformed("claim 'aud' is not a string or a list of strings")
            data["aud"] = expected if expected in aud else (aud[0] if aud else None)
        claims = Claims.from_dict(data)
        now = self._clock()
        if now >= claims.expires_at + self.leeway:
            raise TokenExpired(f"token expired at {claims.expires_at}")
        if now < claims.not_before - self.leeway:
            raise TokenNotYetValid(f"token not valid before {claims.not_before}")
        if self.issuer is not None and claims.issuer != self.issuer:
            raise TokenWrongIssuer(f"token issued by {claims.issuer!r}")
        if expected is not None and claims.audience != expected:
            raise TokenWrongAudience(f"token is for {claims.audience!r}, not {expected!r}")
        return claims

    def __repr__(self) -> str:
        return f"TokenVerifier(issuer={self.issuer!r}, audience={self.audience!r})"
