"""Signing keys and published key sets: JWK (RFC 7517), thumbprints (RFC 7638), PEM bundles."""

import base64
import datetime
import hashlib
import json
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from wharf_protocol.keys import (
    KeySet,
    KeysInvalid,
    PublicKey,
    SigningKey,
    libtrust_key_id,
    thumbprint,
)

ES = SigningKey.generate()
RS = SigningKey.generate("RS256")

# RFC 7638 section 3.1: the example RSA key and its SHA-256 thumbprint.
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPeb"
    "WKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY36"
    "8QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4"
    "lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_thumbprint_matches_rfc_7638_example():
    keys = KeySet.from_jwks({"keys": [{"kty": "RSA", "n": RFC7638_N, "e": "AQAB"}]})
    assert keys.keys[0].kid == RFC7638_THUMBPRINT
    assert thumbprint(keys.keys[0].key) == RFC7638_THUMBPRINT


def test_ec_thumbprint_hashes_the_required_members_in_order():
    jwk = ES.public.jwk()
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    assert ES.kid == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert len(base64.urlsafe_b64decode(jwk["x"] + "=")) == 32


def test_libtrust_key_id_form():
    kid = libtrust_key_id(ES.public.key)
    assert re.fullmatch(r"([A-Z2-7]{4}:){11}[A-Z2-7]{4}", kid)
    assert libtrust_key_id(RS.public.key) != kid


@pytest.mark.parametrize("key", [ES, RS], ids=["ES256", "RS256"])
def test_a_key_survives_encrypted_pem_and_keeps_its_kid(key):
    pem = key.private_pem(b"passphrase")
    assert b"ENCRYPTED PRIVATE KEY" in pem
    loaded = SigningKey.load(pem, key.certificate_pem(), b"passphrase")
    assert (loaded.kid, loaded.algorithm) == (key.kid, key.algorithm)
    with pytest.raises(KeysInvalid):
        SigningKey.load(pem, key.certificate_pem(), b"wrong")
    with pytest.raises(KeysInvalid):
        SigningKey.load(b"garbage", key.certificate_pem())


def test_a_certificate_of_another_key_is_refused():
    with pytest.raises(KeysInvalid):
        SigningKey.load(ES.private_pem(), RS.certificate_pem())


def test_the_certificate_is_self_signed_for_years():
    cert = ES.certificate
    assert cert.issuer == cert.subject
    now = datetime.datetime.now(datetime.UTC)
    assert cert.not_valid_before_utc < now < cert.not_valid_after_utc
    assert cert.not_valid_after_utc - now > datetime.timedelta(days=365 * 5)
    cert.verify_directly_issued_by(cert)


def test_unsupported_algorithms_and_weak_keys_are_refused():
    with pytest.raises(KeysInvalid):
        SigningKey.generate("HS256")
    with pytest.raises(KeysInvalid):
        PublicKey.of(ec.generate_private_key(ec.SECP384R1()).public_key())
    with pytest.raises(KeysInvalid):
        PublicKey.of(rsa.generate_private_key(65537, 1024).public_key())  # noqa: S505


def test_jwks_round_trip_with_certificates():
    published = KeySet([ES.public, RS.public])
    document = json.loads(json.dumps(published.jwks()))
    assert [k["kid"] for k in document["keys"]] == [ES.kid, RS.kid]
    for jwk in document["keys"]:
        assert jwk["use"] == "sig" and jwk["alg"] in ("ES256", "RS256") and len(jwk["x5c"]) == 1
        assert "d" not in jwk and "p" not in jwk  # never a private member
    loaded = KeySet.from_jwks(document)
    assert [k.kid for k in loaded.keys] == [ES.kid, RS.kid]
    assert loaded.find({"kid": RS.kid}).algorithm == "RS256"


def test_pem_bundle_round_trip_finds_keys_by_every_id_form():
    bundle = KeySet([ES.public, RS.public]).pem_bundle()
    assert bundle.count(b"BEGIN CERTIFICATE") == 2 and b"PRIVATE" not in bundle
    loaded = KeySet.from_pem_bundle(bundle)
    assert loaded.find({"kid": ES.kid}).kid == ES.kid
    assert loaded.find({"kid": libtrust_key_id(RS.public.key)}).kid == RS.kid
    assert loaded.find({"x5c": ES.x5c}).kid == ES.kid
    assert loaded.find({"kid": "unknown"}) is None
    assert loaded.find({"x5c": ["not base64!"]}) is None
    assert loaded.find({"x5c": [base64.b64encode(b"not der").decode()]}) is None
    assert loaded.find({}) is None


def test_a_publishers_own_kid_names_its_key():
    jwk = {**ES.public.jwk(), "kid": "key-2026-12"}
    keys = KeySet.from_jwks({"keys": [jwk]})
    assert keys.find({"kid": "key-2026-12"}).kid == ES.kid
    assert keys.find({"kid": ES.kid}).kid == ES.kid
    assert keys.jwks()["keys"][0]["kid"] == "key-2026-12"


def test_keys_of_other_uses_and_types_are_skipped():
    document = {
        "keys": [
            {**ES.public.jwk(), "use": "enc"},
            {"kty": "oct", "k": "c2VjcmV0"},
            {**RS.public.jwk(), "alg": "PS256"},
            RS.public.jwk(),
        ]
    }
    assert [k.kid for k in KeySet.from_jwks(document).keys] == [RS.kid]


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        {"keys": "x"},
        {"keys": [{"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}]},
        {"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]},  # not on the curve
        {"keys": [{"kty": "RSA", "e": "AQAB"}]},
        {"keys": [{"kty": "RSA", "n": "!!", "e": "AQAB"}]},
        {"keys": [{**ES.public.jwk(), "x5c": RS.x5c}]},  # certificate of another key
        {"keys": [ES.public.jwk()] * 101},
    ],
)
def test_malformed_jwks_are_refused_with_a_reason(document):
    with pytest.raises(KeysInvalid) as info:
        KeySet.from_jwks(document)
    assert str(info.value)


@pytest.mark.parametrize(
    "data", [b"", b"not pem", b"-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n"]
)
def test_malformed_bundles_are_refused(data):
    with pytest.raises(KeysInvalid):
        KeySet.from_pem_bundle(data)


def test_a_bundle_may_hold_certificates_made_elsewhere():
    """A stock token server's certificate (made with openssl, say): any P-256 or RSA key."""
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "token")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(private, hashes.SHA256())
    )
    loaded = KeySet.from_pem_bundle(cert.public_bytes(serialization.Encoding.PEM))
    assert loaded.keys[0].kid == thumbprint(private.public_key())
