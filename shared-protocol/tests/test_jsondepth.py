"""JSON parsing bounded in nesting depth (jsondepth): deep input is a ValueError, never a crash."""

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wharf_protocol.jsondepth import MAX_DEPTH, JsonTooDeep, loads, nested_deeper_than

SCALARS = st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:\n\u00e9')
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\k'), inner, max_size=3)
    ),
    max_leaves=30,
)


def depth_of(value) -> int:
    """The nesting depth of a parsed value, the obvious (recursive) way."""
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    return 0


@given(VALUES)
def test_the_measure_agrees_with_the_parsed_value(value):
    text = json.dumps(value)
    actual = depth_of(value)
    assert not nested_deeper_than(text, actual)
    assert actual == 0 or nested_deeper_than(text, actual - 1)
    assert loads(text.encode(), max_depth=actual) == value


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 50_000,
        b"[" * 50_000 + b"]" * 50_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"[" * (4 << 20),
        b"]" * (1 << 20) + b"[" * (1 << 20),
        b'["x",' * 100_000,
    ],
)
def test_deep_documents_are_refused_before_parsing_and_fast(body):
    started = time.perf_counter()
    with pytest.raises(JsonTooDeep) as info:
        loads(body)
    assert isinstance(info.value, ValueError) and info.value.max_depth == MAX_DEPTH
    assert time.perf_counter() - started < 5  # linear: ~30 ms here; a generous bound


def test_the_limit_is_inclusive():
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(JsonTooDeep):
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(["[" * 10_000, "{" * 10_000]),  # brackets inside strings do not nest
        json.dumps({"k": '\\"[[[' * 5_000}),  # nor after escaped quotes and backslashes
        '"' + "\\" * 8 + '"',  # four escaped backslashes
    ],
)
def test_brackets_inside_strings_are_not_nesting(text):
    assert loads(text) == json.loads(text)


def test_bytes_are_decoded_as_json_loads_decodes_them():
    value = {"a": ["\u00e9", {"b": None}]}
    for encoding in ("utf-8", "utf-16", "utf-32"):
        assert loads(json.dumps(value, ensure_ascii=False).encode(encoding)) == value
    with pytest.raises(ValueError):
        loads(b'"\xff"')


@pytest.mark.parametrize("text", ['"\\' + '\\"' * 100_000 + "[" * 100, '"abc' + "[" * 100_000])
def test_unterminated_strings_stay_linear_and_fail_as_json_does(text):
    started = time.perf_counter()
    with pytest.raises(ValueError):
        loads(text)
    assert time.perf_counter() - started < 5
