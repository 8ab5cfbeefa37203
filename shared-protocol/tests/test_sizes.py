"""wharf_protocol.sizes: byte counts as people write and read them."""

from __future__ import annotations

import pytest
from wharf_protocol.sizes import MAX_BYTES, format_size, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("0", 0),
        ("4096", 4096),
        ("4096B", 4096),
        ("1KiB", 1024),
        ("10GiB", 10 << 30),
        ("10 gib", 10 << 30),
        (" 1.5 TiB ", 3 << 39),
        ("0.5B", 0),
        ("7EiB", 7 << 60),
    ],
)
def test_parse(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "ten", "10GB", "10 G", "-1", "1e9", "8EiB", "1,5GiB"])
def test_parse_refuses_what_is_no_size(text):
    with pytest.raises(ValueError, match="size|2\\*\\*63"):
        parse_size(text)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (10 << 30, "10 GiB"),
        (int(10.2 * (1 << 30)), "10.2 GiB"),
        ((1 << 20) - 1, "1024 KiB"),
        (MAX_BYTES, "8 EiB"),
    ],
)
def test_format(size, text):
    assert format_size(size) == text


def test_format_rounds_up_or_down_when_asked():
    just_over = (10 << 30) + 1
    assert format_size(just_over) == "10 GiB"
    assert format_size(just_over, rounding="up") == "10.1 GiB"
    assert format_size((10 << 30) + (1 << 29), rounding="down") == "10.5 GiB"
    assert format_size((10 << 30) - 1, rounding="down") == "9.9 GiB"
