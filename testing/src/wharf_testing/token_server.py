"""A small standalone Docker token server, to show that Wharf's registry needs no Wharf Index.

It follows the Docker token specification (distribution docs, "Token Authentication
Specification") the way other token servers do, and is written with PyJWT and cryptography
only, not with Wharf's own token code, so that it stays an independent implementation:

- ``GET /token?service=S&scope=repository:NAME:ACTIONS`` (``scope`` may repeat) with HTTP
  Basic credentials of a user of a fixed table answers ``{"token", "access_token",
  "expires_in", "issued_at"}``: an RS256 JWT with ``iss``, ``sub``, ``aud`` (= the requested
  ``service``), ``exp``, ``nbf``, ``iat``, ``jti`` and ``access``, granting each requested
  action the user's table entry allows (others are left out, as the specification says);
  unknown users and wrong passwords get 401;
- ``GET /jwks.json``: its public key as a JWK Set whose ``kid`` is the libtrust fingerprint;
- ``GET /healthz``: 200.

The JWS header names the key the way the ``TOKEN_SERVER_KID`` mode says: ``libtrust`` (a
libtrust-fingerprint ``kid``, no certificate: what docker_auth and Distribution's own test
server send) or ``x5c`` (no ``kid``, the certificate in ``x5c``).

Run it under gunicorn (``wharf_testing.token_server:create_app()``), configured by the
environment:
``TOKEN_SERVER_KEYDIR`` (made by :func:`write_key`: ``key.pem``, ``certs.pem``,
``jwks.json``), ``TOKEN_SERVER_ISSUER``, ``TOKEN_SERVER_KID`` and ``TOKEN_SERVER_USERS``
(JSON ``{"user": {"password": "...", "actions": ["pull", "push"]}}``).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import os
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

TTL = 300


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def libtrust_kid(public_key: rsa.RSAPublicKey) -> str:
    """libtrust's key id: SHA-256 of the DER public key, 240 bits, base32, groups of 4."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    text = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii").rstrip("=")
    return ":".join(text[i : i + 4] for i in range(0, len(text), 4))


def write_key(directory: Path, subject: str = "foreign token server") -> Path:
    """Make an RSA key and its self-signed certificate in ``directory``; also write what the
    server publishes: ``certs.pem`` (a root certificate bundle) and ``jwks.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (directory / "certs.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": libtrust_kid(key.public_key()),
        "n": _b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": _b64url(numbers.e.to_bytes(3, "big")),
        "x5c": [base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()],
    }
    (directory / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    return directory


class TokenServer:
    """The WSGI app (see the module doc)."""

    def __init__(self, keydir: Path, issuer: str, kid_mode: str, users: dict) -> None:
        self.key = serialization.load_pem_private_key((keydir / "key.pem").read_bytes(), None)
        certificate = x509.load_pem_x509_certificate((keydir / "certs.pem").read_bytes())
        self.jwks = (keydir / "jwks.json").read_bytes()
        self.issuer, self.users = issuer, users
        if kid_mode == "libtrust":
            self.header = {"kid": libtrust_kid(self.key.public_key())}
        elif kid_mode == "x5c":
            der = certificate.public_bytes(serialization.Encoding.DER)
            self.header = {"x5c": [base64.b64encode(der).decode()]}
        else:
            raise ValueError(f"TOKEN_SERVER_KID: {kid_mode!r} is not libtrust or x5c")

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return _answer(start_response, "200 OK", b"ok", "text/plain")
        if path == "/jwks.json":
            return _answer(start_response, "200 OK", self.jwks)
        if path != "/token" or environ["REQUEST_METHOD"] != "GET":
            return _answer(start_response, "404 Not Found", b'{"errors": ["not found"]}')
        user = self._user(environ.get("HTTP_AUTHORIZATION", ""))
        if user is None:
            body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "bad login"}]})
            headers = [("WWW-Authenticate", 'Basic realm="foreign"')]
            return _answer(start_response, "401 Unauthorized", body.encode(), headers=headers)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        service = (query.get("service") or [""])[0]
        access = [
            grant
            for scope in query.get("scope", [])
            for part in scope.split(" ")
            if (grant := self._grant(user, part))
        ]
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": user,
            "aud": service,
            "exp": now + TTL,
            "nbf": now,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        token = jwt.encode(claims, self.key, "RS256", headers=self.header)
        issued = datetime.datetime.fromtimestamp(now, datetime.UTC).isoformat()
        body = {"token": token, "access_token": token, "expires_in": TTL, "issued_at": issued}
        return _answer(start_response, "200 OK", json.dumps(body).encode())

    def _user(self, header: str) -> str | None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        entry = self.users.get(user)
        if entry is None or not secrets.compare_digest(entry["password"], password):
            return None
        return user

    def _grant(self, user: str, scope: str) -> dict | None:
        parts = scope.split(":")
        if len(parts) < 3 or parts[0] != "repository":
            return None
        name, actions = ":".join(parts[1:-1]), parts[-1].split(",")
        allowed = [a for a in actions if a in self.users[user]["actions"]]
        return {"type": "repository", "name": name, "actions": allowed} if allowed else None


def _answer(start_response, status, body: bytes, content_type="application/json", headers=()):
    start_response(
        status,
        [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers],
    )
    return [body]


def create_app() -> TokenServer:
    """Build the server from the ``TOKEN_SERVER_*`` environment (see the module doc)."""
    return TokenServer(
        Path(os.environ["TOKEN_SERVER_KEYDIR"]),
        os.environ.get("TOKEN_SERVER_ISSUER", "foreign-token-server"),
        os.environ.get("TOKEN_SERVER_KID", "libtrust"),
        json.loads(os.environ["TOKEN_SERVER_USERS"]),
    )
