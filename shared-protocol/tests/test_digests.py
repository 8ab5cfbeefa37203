"""Digests (OCI image spec, "Digests"; distribution spec, "Pulling blobs")."""

import hashlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from protocol_strategies import sha256_hex, sha512_hex
from wharf_protocol.digests import (
    ALGORITHMS,
    Digest,
    DigestInvalid,
    Hasher,
    UnsupportedDigest,
    digest_bytes,
    hash_stream,
)

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_algorithms_table():
    assert ALGORITHMS == {"sha256": 64, "sha512": 128}


@settings(max_examples=100)
@given(st.one_of(sha256_hex.map(lambda h: "sha256:" + h), sha512_hex.map(lambda h: "sha512:" + h)))
def test_parse_format_round_trip(text):
    digest = Digest.parse(text)
    assert str(digest) == text
    assert Digest.parse(str(digest)) == digest
    assert digest.algorithm in ALGORITHMS


@pytest.mark.parametrize(
    "text",
    [
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "sha384:" + "a" * 96,
        "multihash+base58:QmRZxt2b1",
        "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
        "blake3:" + "0" * 64,
    ],
)
def test_well_formed_other_algorithms_are_unsupported(text):
    with pytest.raises(UnsupportedDigest):
        Digest.parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sha256",
        "sha256:",
        ":abc",
        "sha256:" + "A" * 64,
        "sha256:" + "0" * 63,
        "sha256:" + "0" * 65,
        "sha512:" + "0" * 64,
        "SHA256:" + "0" * 64,
        "sha256:" + "g" * 64,
        "sha256::" + "0" * 64,
        "sha256:" + "0" * 64 + "\n",
        None,
        b"sha256:00",
    ],
)
def test_malformed_digests_are_invalid_but_not_unsupported(text):
    with pytest.raises(DigestInvalid) as info:
        Digest.parse(text)
    assert not isinstance(info.value, UnsupportedDigest)


def test_constructor_validates():
    with pytest.raises(UnsupportedDigest):
        Digest("md5", "0" * 32)
    with pytest.raises(DigestInvalid):
        Digest("sha256", "0" * 10)
    with pytest.raises(DigestInvalid):
        Digest("sha256", None)
    with pytest.raises(AttributeError):
        Digest("sha256", "0" * 64).hex = "x"


@settings(max_examples=100)
@given(st.binary(max_size=2048), st.sampled_from(["sha256", "sha512"]), st.integers(1, 300))
def test_hashers_agree_with_hashlib(data, algorithm, chunk):
    expected = hashlib.new(algorithm, data).hexdigest()
    assert digest_bytes(data, algorithm) == Digest(algorithm, expected)
    streamed = hash_stream(io.BytesIO(data), algorithm, chunk)
    assert streamed == (Digest(algorithm, expected), len(data))
    hasher = Hasher(algorithm)
    for i in range(0, len(data), chunk):
        hasher.update(data[i : i + chunk])
    assert hasher.size == len(data)
    assert hasher.digest() == Digest(algorithm, expected)


def test_empty_digest_and_default_algorithm():
    assert str(digest_bytes(b"")) == "sha256:" + EMPTY_SHA256
    assert hash_stream(io.BytesIO(b"")) == (Digest("sha256", EMPTY_SHA256), 0)
    assert Hasher().size == 0


def test_hasher_rejects_unsupported_algorithm():
    with pytest.raises(UnsupportedDigest):
        Hasher("md5")
    with pytest.raises(UnsupportedDigest):
        digest_bytes(b"", "md5")
