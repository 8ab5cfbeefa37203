"""Descriptor sizes: int64, never a boolean or a float."""

from __future__ import annotations

from wharf_protocol.descriptors import MAX_SIZE, is_size


def test_sizes_are_int64():
    assert MAX_SIZE == 2**63 - 1
    assert all(map(is_size, (0, 1, MAX_SIZE)))
    assert not any(map(is_size, (-1, 2**63, 10**400, 1.0, "1", True, False, None)))
