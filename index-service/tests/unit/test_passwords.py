"""scrypt password hashing and the rules for passwords."""

from __future__ import annotations

import pytest
from wharf_index.domain.errors import PasswordInvalid
from wharf_index.services.passwords import PasswordHasher, check_password_rules

HASHER = PasswordHasher(n=1024)


def test_hash_verifies_and_wrong_password_does_not():
    encoded = HASHER.hash("hunter2hunter2")
    assert encoded.startswith("$scrypt$ln=10,r=8,p=1$")
    assert "hunter2" not in encoded
    assert HASHER.verify("hunter2hunter2", encoded)
    assert not HASHER.verify("hunter2hunter3", encoded)


def test_salts_differ():
    assert HASHER.hash("same password") != HASHER.hash("same password")


def test_long_and_unicode_passwords_are_not_truncated():
    long = "ä" * 100 + "x"
    encoded = HASHER.hash(long)
    assert HASHER.verify(long, encoded)
    assert not HASHER.verify("ä" * 100 + "y", encoded)


@pytest.mark.parametrize(
    "encoded", [None, "", "plain", "$scrypt$ln=99,r=8,p=1$AA==$AA==", "$bcrypt$whatever"]
)
def test_missing_or_malformed_hashes_never_verify(encoded):
    assert HASHER.verify("anything at all", encoded) is False


def test_needs_rehash_when_parameters_change():
    old = PasswordHasher(n=1024).hash("password123")
    assert not PasswordHasher(n=1024).needs_rehash(old)
    assert PasswordHasher(n=2048).needs_rehash(old)
    assert PasswordHasher(n=2048).verify("password123", old)


def test_n_must_be_a_power_of_two():
    with pytest.raises(ValueError):
        PasswordHasher(n=1000)


@pytest.mark.parametrize("password", ["", "short", "x" * 1025, "with\x00nul", None])
def test_password_rules(password):
    with pytest.raises(PasswordInvalid) as caught:
        check_password_rules(password)
    if password:
        assert password not in str(caught.value)
