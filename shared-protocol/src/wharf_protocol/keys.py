"""Token signing keys and the published public keys that verify them.

A token server signs registry tokens with a private key (ES256: ECDSA P-256 with SHA-256, the
default; or RS256: RSA PKCS#1 v1.5 with SHA-256, RFC 7518 section 3.1) and publishes the
public halves in two forms:

- a JWK Set (RFC 7517 section 5), each key with ``kid``, ``alg``, ``use: "sig"`` and
  ``x5c`` (its certificate), as ``/.well-known/jwks.json``;
- a PEM bundle of self-signed X.509 certificates, one per key, which is what the reference
  registry's ``auth.token.rootcertbundle`` reads.

Key ids. A token names its key in the JWS header (RFC 7515 section 4.1): ``kid`` is the
RFC 7638 JWK thumbprint of the public key, and ``x5c`` carries the key's certificate. The
reference registry 2.8 accepts a token whose ``x5c`` chains to its root bundle, or whose
``kid`` is the libtrust fingerprint of a bundle key; 3.x matches ``kid`` against its own
thumbprint computation, which differs from RFC 7638 for EC keys, and also accepts ``x5c``.
``x5c`` is therefore the form every version accepts, and Wharf's issuer always sends it.

:class:`KeySet` finds the key of a token from its header: by ``kid`` (an RFC 7638
thumbprint or a libtrust fingerprint, as other token servers send), else by the public key
of the ``x5c`` leaf certificate, which must be one of the set's keys (a chain is not walked:
the trusted keys are the leaves themselves).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

__all__ = [
    "ALGORITHMS",
    "KeySet",
    "KeysInvalid",
    "PublicKey",
    "SigningKey",
    "libtrust_key_id",
    "thumbprint",
]

ES256, RS256 = "ES256", "RS256"
ALGORITHMS = (ES256, RS256)
RSA_BITS = 3072
CERTIFICATE_YEARS = 10
MAX_KEYS = 100  # a JWK Set or bundle with more is refused (a published set holds a few)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKeyObject = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class KeysInvalid(ValueError):
    """A key, JWK Set or certificate bundle cannot be used; the message says why."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_uint(value: int, length: int | None = None) -> str:
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return _b64url(value.to_bytes(size, "big"))


def _algorithm_of(key: PublicKeyObject) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeysInvalid(f"EC keys must be on P-256 for ES256, not {key.curve.name}")
        return ES256
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise KeysInvalid(f"RSA keys must have at least 2048 bits, not {key.key_size}")
        return RS256
    raise KeysInvalid(f"unsupported key type {type(key).__name__}: ES256 or RS256 keys only")


def _public_members(key: PublicKeyObject) -> dict[str, str]:
    """The required JWK members of ``key`` (RFC 7518 sections 6.2.1 and 6.3.1)."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        numbers = key.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url_uint(numbers.x, 32),
            "y": _b64url_uint(numbers.y, 32),
        }
    numbers = key.public_numbers()
    return {"kty": "RSA", "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}


def thumbprint(key: PublicKeyObject) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key."""
    members = _public_members(key)
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return _b64url(hashlib.sha256(canonical).digest())


def libtrust_key_id(key: PublicKeyObject) -> str:
    """The libtrust fingerprint of a public key, the ``kid`` many Docker token servers send:
    the first 240 bits of the SHA-256 of its DER SubjectPublicKeyInfo, base32 without
    padding, in groups of four joined by ``:``."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    text = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii").rstrip("=")
    return ":".join(text[i : i + 4] for i in range(0, len(text), 4))


@dataclass(frozen=True)
class PublicKey:
    """One trusted public key: its algorithm, ``kid`` (RFC 7638) and certificate if known."""

    key: PublicKeyObject = field(repr=False)
    algorithm: str
    kid: str
    certificate: x509.Certificate | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, key: PublicKeyObject, certificate: x509.Certificate | None = None) -> PublicKey:
        """Wrap ``key``; KeysInvalid if its type or size cannot sign ES256/RS256 tokens."""
        return cls(key, _algorithm_of(key), thumbprint(key), certificate)

    @property
    def key_ids(self) -> tuple[str, str]:
        """Every ``kid`` this key is found by: its RFC 7638 thumbprint and libtrust id."""
        return self.kid, libtrust_key_id(self.key)

    def jwk(self) -> dict[str, Any]:
        """The public JWK (RFC 7517 section 4) with ``kid``, ``alg``, ``use`` and ``x5c``."""
        jwk: dict[str, Any] = {**_public_members(self.key), "kid": self.kid}
        jwk.update(alg=self.algorithm, use="sig")
        if self.certificate is not None:
            der = self.certificate.public_bytes(serialization.Encoding.DER)
            jwk["x5c"] = [base64.b64encode(der).decode("ascii")]
        return jwk


def _certificate(private_key: PrivateKey, subject: str, now: datetime.datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365 * CERTIFICATE_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(private_key, hashes.SHA256())
    )


@dataclass(frozen=True)
class SigningKey:
    """A private signing key with its self-signed certificate (sent as the ``x5c`` header)."""

    private_key: PrivateKey = field(repr=False)
    certificate: x509.Certificate = field(repr=False)
    public: PublicKey = field(init=False, repr=False)

    def __post_init__(self) -> None:
        public = self.private_key.public_key()
        if public != self.certificate.public_key():
            raise KeysInvalid("the certificate is not for this private key")
        object.__setattr__(self, "public", PublicKey.of(public, self.certificate))

    @property
    def kid(self) -> str:
        return self.public.kid

    @property
    def algorithm(self) -> str:
        return self.public.algorithm

    @property
    def x5c(self) -> list[str]:
        """The JWS ``x5c`` header value: the certificate, DER in standard base64."""
        return self.public.jwk()["x5c"]

    @classmethod
    def generate(
        cls, algorithm: str = ES256, subject: str = "Wharf token signing", now=None
    ) -> SigningKey:
        """Make a new key of ``algorithm`` (ES256 or RS256) with a certificate for ``subject``."""
        if algorithm == ES256:
            private_key: PrivateKey = ec.generate_private_key(ec.SECP256R1())
        elif algorithm == RS256:
            private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        else:
            raise KeysInvalid(
                f"unsupported algorithm {algorithm!r}: one of {', '.join(ALGORITHMS)}"
            )
        now = now or datetime.datetime.now(datetime.UTC)
        return cls(private_key, _certificate(private_key, subject, now))

    def private_pem(self, password: bytes | None = None) -> bytes:
        """The private key as PKCS#8 PEM, encrypted with ``password`` when given."""
        encryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def load(
        cls, private_pem: bytes, certificate_pem: bytes, password: bytes | None = None
    ) -> SigningKey:
        """Read a key written by :meth:`private_pem` and :meth:`certificate_pem`.

        Raises KeysInvalid for a wrong password, unreadable PEM or mismatched pair."""
        try:
            private_key = serialization.load_pem_private_key(private_pem, password or None)
            certificate = x509.load_pem_x509_certificate(certificate_pem)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeysInvalid(f"cannot read the signing key: {exc}") from None
        if not isinstance(private_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise KeysInvalid("the signing key is neither an EC nor an RSA key")
        return cls(private_key, certificate)


class KeySet:
    """Trusted public keys, found by a token's JWS header (see the module doc)."""

    def __init__(self, keys: Iterable[PublicKey] = ()) -> None:
        self.keys: tuple[PublicKey, ...] = tuple({key.kid: key for key in keys}.values())
        self._by_id: dict[str, PublicKey] = {}
        for key in self.keys:
            for kid in key.key_ids:
                self._by_id[kid] = key

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        return f"KeySet({[key.kid for key in self.keys]!r})"

    def get(self, kid: str) -> PublicKey | None:
        return self._by_id.get(kid)

    def find(self, header: Mapping[str, Any]) -> PublicKey | None:
        """The key for a token's JWS header, or None if it names none of this set's keys."""
        kid = header.get("kid")
        if isinstance(kid, str) and kid in self._by_id:
            return self._by_id[kid]
        chain = header.get("x5c")
        if isinstance(chain, list) and chain and isinstance(chain[0], str):
            try:
                leaf = x509.load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
                key = leaf.public_key()
            except (ValueError, TypeError, UnsupportedAlgorithm):
                return None
            if isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
                try:
                    return self._by_id.get(thumbprint(key))
                except KeysInvalid:
                    return None
        return None

    def jwks(self) -> dict[str, Any]:
        """The JWK Set document (RFC 7517 section 5)."""
        return {"keys": [key.jwk() for key in self.keys]}

    def pem_bundle(self) -> bytes:
        """The certificates, concatenated PEM (keys without a certificate are left out)."""
        return b"".join(
            key.certificate.public_bytes(serialization.Encoding.PEM)
            for key in self.keys
            if key.certificate is not None
        )

    @classmethod
    def from_jwks(cls, document: Any) -> KeySet:
        """Read a JWK Set (keys of other types or uses are skipped); KeysInvalid if malformed."""
        if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
            raise KeysInvalid('a JWK Set is a JSON object with a "keys" list')
        if len(document["keys"]) > MAX_KEYS:
            raise KeysInvalid(f"the JWK Set holds more than {MAX_KEYS} keys")
        keys = []
        for jwk in document["keys"]:
            if not isinstance(jwk, Mapping) or jwk.get("use", "sig") != "sig":
                continue
            if jwk.get("kty") not in ("EC", "RSA") or jwk.get("alg", "") not in ("", *ALGORITHMS):
                continue
            keys.append(_from_jwk(jwk))
        return cls(keys)

    @classmethod
    def from_pem_bundle(cls, data: bytes) -> KeySet:
        """Read PEM certificates (a root certificate bundle); KeysInvalid if there are none."""
        try:
            certificates = x509.load_pem_x509_certificates(data)
        except ValueError as exc:
            raise KeysInvalid(f"cannot read the certificate bundle: {exc}") from None
        if len(certificates) > MAX_KEYS:
            raise KeysInvalid(f"the bundle holds more than {MAX_KEYS} certificates")
        keys = []
        for certificate in certificates:
            try:
                key = certificate.public_key()
            except UnsupportedAlgorithm as exc:
                raise KeysInvalid(f"unsupported key in the bundle: {exc}") from None
            if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
                raise KeysInvalid("the bundle holds a key that is neither EC nor RSA")
            keys.append(PublicKey.of(key, certificate))
        return cls(keys)

    def merged(self, other: KeySet) -> KeySet:
        return KeySet((*self.keys, *other.keys))


def _uint(jwk: Mapping[str, Any], name: str) -> int:
    value = jwk.get(name)
    if not isinstance(value, str) or not value:
        raise KeysInvalid(f"JWK member {name!r} is missing")
    try:
        return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")
    except ValueError:
        raise KeysInvalid(f"JWK member {name!r} is not base64url") from None


def _from_jwk(jwk: Mapping[str, Any]) -> PublicKey:
    try:
        if jwk["kty"] == "EC":
            if jwk.get("crv") != "P-256":
                raise KeysInvalid(f"EC JWK on curve {jwk.get('crv')!r}: only P-256")
            numbers = ec.EllipticCurvePublicNumbers(
                _uint(jwk, "x"), _uint(jwk, "y"), ec.SECP256R1()
            )
            key: PublicKeyObject = numbers.public_key()
        else:
            key = rsa.RSAPublicNumbers(_uint(jwk, "e"), _uint(jwk, "n")).public_key()
    except ValueError as exc:
        if isinstance(exc, KeysInvalid):
            raise
        raise KeysInvalid(f"invalid JWK: {exc}") from None
    certificate = None
    chain = jwk.get("x5c")
    if isinstance(chain, list) and chain and isinstance(chain[0], str):
        try:
            certificate = x509.load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
        except ValueError:
            raise KeysInvalid("JWK x5c is not a base64 DER certificate") from None
        if certificate.public_key() != key:
            raise KeysInvalid("JWK x5c certificate is not for the JWK's key")
    public = PublicKey.of(key, certificate)
    kid = jwk.get("kid")
    if isinstance(kid, str) and kid and kid != public.kid:
        # A token server naming its keys its own way: find the key by that name too.
        return _Aliased(public.key, public.algorithm, public.kid, certificate, kid)
    return public


@dataclass(frozen=True)
class _Aliased(PublicKey):
    """A JWK whose publisher's ``kid`` is not the RFC 7638 thumbprint."""

    alias: str = ""

    @property
    def key_ids(self) -> tuple[str, ...]:
        return (self.kid, libtrust_key_id(self.key), self.alias)

    def jwk(self) -> dict[str, Any]:
        return {**super().jwk(), "kid": self.alias}
