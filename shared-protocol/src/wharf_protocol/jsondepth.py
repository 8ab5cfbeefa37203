"""JSON from untrusted input, parsed only when its nesting is shallow enough (RFC 8259, 9).

``json.loads`` recurses once per nested array or object: a body of 50,000 ``[`` raises
``RecursionError`` (a 500 where a client error is due), and anything that walks a deep result
recursively fails the same way. RFC 8259 (section 9) lets a parser limit the nesting depth;
:func:`loads` measures it first, in one linear pass with no recursion, and raises
:class:`JsonTooDeep` (a ``ValueError``, like every other malformed-JSON error) beyond
``max_depth`` without parsing at all.

The measure looks at the brackets outside strings only. Strings are cut out with one regular
expression (a ``"``, then anything but ``"``/``\\`` or a backslash pair, then the closing
``"`` or the end of the text), which tokenises JSON as a parser does up to its first error, so
every bracket a parser would descend into is seen; and since each match runs to the end of its
string, the cost stays linear whatever the text. The remaining brackets are reduced by removing
innermost pairs, one level per pass (C-speed ``bytes.replace``), for at most ``max_depth``
passes; openers left that no pass can close count as too deep. Text that is not JSON at all
may be judged too deep, which only turns one ValueError into another.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MAX_DEPTH", "JsonTooDeep", "loads", "nested_deeper_than"]

#: Default limit: far deeper than any manifest, token or event (5 or 6 levels), far below
#: where ``json.loads`` and the code walking its result run out of stack.
MAX_DEPTH = 64

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_AS_PARENS = bytes.maketrans(b"[{]}", b"(())")


class JsonTooDeep(ValueError):
    """The document nests arrays and objects deeper than the limit."""

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        super().__init__(f"JSON nested deeper than {max_depth} levels")


def nested_deeper_than(text: str, max_depth: int) -> bool:
    """Tell whether arrays and objects nest more than ``max_depth`` deep in ``text``."""
    outside = _STRING.sub("", text).encode("utf-8", "surrogatepass")
    parens = outside.translate(_AS_PARENS, _NOT_BRACKETS)
    for _ in range(max_depth):
        if b"(" not in parens:
            return False
        inner = parens.replace(b"()", b"")
        if len(inner) == len(parens):  # openers never closed: unbalanced, judged too deep
            return True
        parens = inner
    return b"(" in parens


def loads(data: str | bytes | bytearray, max_depth: int = MAX_DEPTH) -> Any:
    """Return ``json.loads(data)``; JsonTooDeep if it nests deeper than ``max_depth``.

    Bytes are decoded as ``json.loads`` decodes them (UTF-8, -16 or -32, detected); a
    decoding error is a ``UnicodeDecodeError``, a ``ValueError`` too.
    """
    if isinstance(data, bytes | bytearray):
        data = bytes(data).decode(json.detect_encoding(data), "surrogatepass")
    if data.count("[") + data.count("{") > max_depth and nested_deeper_than(data, max_depth):
        raise JsonTooDeep(max_depth)
    return json.loads(data)
