"""What a request value must be, stated once: marshmallow fields and validators the API
loads bodies with, each also giving its JSON Schema keywords to the OpenAPI document
(openapi.py), so the document says exactly what the server enforces.

- :class:`StrictBoolean`, :class:`StrictInteger`: JSON ``true``/``false`` and JSON integers
  only (marshmallow's own also take ``1``, ``"yes"``, ``"on"``, ``"5"``, ``5.5``).
- :class:`Pattern`: the whole value matches a regular expression (``fullmatch``: a trailing
  newline never slips through as it does with ``$``); the document gets the same
  expression, anchored, with ``\\s`` spelled out as the characters Python counts as
  whitespace (ECMA-262's ``\\s`` is a slightly different set).
- :class:`NotBlank`: at least one character that is not whitespace (``str.strip`` leaves
  something).
- :class:`NotOneOf`: not one of the reserved words (JSON Schema ``not: {enum}``).

Every string of a body is also free of NUL characters (inputs.storable refuses them):
:data:`NO_NUL` is that rule as a pattern.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields, validate

# Python's whitespace (str.isspace, re's \s for str patterns; none lies outside the BMP).
WHITESPACE = "".join(chr(c) for c in range(0x10000) if chr(c).isspace())


def _class_body(chars: str) -> str:
    """The characters as the inside of a regex class, runs as ranges, all as ``\\uXXXX``."""
    runs: list[list[int]] = []
    for code in map(ord, chars):
        if runs and runs[-1][1] == code - 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return "".join(f"\\u{a:04x}" + (f"-\\u{b:04x}" if b > a else "") for a, b in runs)


_WS_CLASS = _class_body(WHITESPACE)
NO_NUL = "^[^\\u0000]*$"
NOT_BLANK = f"^[^\\u0000]*[^\\u0000{_WS_CLASS}][^\\u0000]*$"


def json_regex(regex: re.Pattern[str] | str) -> str:
    """Return ``regex`` as an anchored ECMA-262 pattern matching the same whole strings.

    Leading ``^`` and trailing ``$`` are dropped (the result anchors itself); ``\\s`` is
    replaced by Python's whitespace characters. Class shorthands whose meaning differs
    between the dialects (``\\d \\w \\D \\W \\S``) are refused: spell them out.
    """
    source = regex.pattern if isinstance(regex, re.Pattern) else regex
    source = source.removeprefix("^")
    if source.endswith("$") and not source.endswith("\\$"):
        source = source[:-1]
    out, in_class, i = [], False, 0
    while i < len(source):
        char = source[i]
        if char == "\\":
            escape = source[i : i + 2]
            if escape in ("\\d", "\\w", "\\D", "\\W", "\\S"):
                raise ValueError(f"spell out {escape} in {source!r}: the dialects differ")
            if escape == "\\s":
                out.append(_WS_CLASS if in_class else f"[{_WS_CLASS}]")
            else:
                out.append(escape)
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class and source[i - 1] not in "[^":
            in_class = False
        out.append(char)
        i += 1
    return f"^(?:{''.join(out)})$"


class Pattern(validate.Validator):
    """The value matches ``regex`` as a whole; ``json_pattern`` is that rule for JSON Schema."""

    def __init__(self, regex: re.Pattern[str] | str, error: str = "invalid value") -> None:
        self.regex = re.compile(regex) if isinstance(regex, str) else regex
        self.error = error
        self.json_pattern = json_regex(self.regex)

    def __call__(self, value: str) -> str:
        if not self.regex.fullmatch(value):
            raise ValidationError(self.error)
        return value


class NotBlank(validate.Validator):
    """Something besides whitespace (what ``value.strip()`` checks in the services)."""

    json_pattern = NOT_BLANK

    def __call__(self, value: str) -> str:
        if not value.strip():
            raise ValidationError("must not be blank")
        return value


class NotOneOf(validate.NoneOf):
    """Not one of ``iterable``; the document says ``not: {"enum": [...]}``."""

    def __init__(self, iterable, error: str = "this name is reserved") -> None:
        super().__init__(sorted(iterable), error=error)


class StrictBoolean(fields.Boolean):
    """JSON ``true`` or ``false``; nothing else is a boolean."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> bool:
        if value is True or value is False:
            return value
        raise self.make_error("invalid", input=value)


class StrictInteger(fields.Integer):
    """A JSON integer: a number without a fractional part (JSON Schema counts ``90.0`` as
    one, so does this); never a string or a boolean."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> int:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not value.is_integer())
        ):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(int(value), attr, data, **kwargs)


def text(max_length: int, *, required: bool = True, min_length: int = 1, rules=(), **kw):
    """A string field of ``min_length..max_length`` characters with extra validators."""
    rules = [validate.Length(min_length, max_length), *rules]
    return fields.String(required=required, validate=rules, **kw)
