import pytest
from wharf_index.services import secret_box

KEY = "k" * 40


def test_a_sealed_secret_opens_with_the_same_key():
    sealed = secret_box.seal(KEY, "whsec_abc")
    assert "whsec_abc" not in sealed
    assert secret_box.unseal(KEY, sealed) == "whsec_abc"


def test_sealing_twice_gives_different_values():
    assert secret_box.seal(KEY, "s") != secret_box.seal(KEY, "s")


def test_another_key_cannot_open_it():
    with pytest.raises(secret_box.SecretUnreadable):
        secret_box.unseal("x" * 40, secret_box.seal(KEY, "s"))


@pytest.mark.parametrize("sealed", ["", "v1.", "v1.!!!", "v2.AAAA", "v1." + "A" * 40])
def test_garbage_is_unreadable_not_a_crash(sealed):
    with pytest.raises(secret_box.SecretUnreadable):
        secret_box.unseal(KEY, sealed)


def test_a_value_sealed_for_one_purpose_does_not_open_for_another():
    sealed = secret_box.seal(KEY, "s", label=b"one")
    with pytest.raises(secret_box.SecretUnreadable):
        secret_box.unseal(KEY, sealed, label=b"two")
