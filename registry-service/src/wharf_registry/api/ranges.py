"""Byte ranges in requests: a blob GET's ``Range`` (RFC 9110) and an upload's ``Content-Range``.

``Range`` (end-2; RFC 9110 sections 14.1-14.2, and 13.1.5 for ``If-Range``) decides what a
blob GET sends, as :func:`blob_range`:

- no ``Range``; an ``If-Range`` that is not the blob's strong ETag (``"<digest>"``, so any
  date too, the registry sending no ``Last-Modified``); a header that is not
  ``<unit>=<range-set>`` or whose unit is not ``bytes`` (a unit not understood MUST be
  ignored): the whole blob, ``200``;
- a ``bytes`` range-set that is not valid (an element neither ``first-last``, ``first-`` nor
  ``-suffix``, digits only; ``last`` < ``first``, e.g. ``bytes=500-0``; an empty set): ``416``.
  RFC 9110 lets a server ignore or reject an invalid ranges-specifier; Wharf rejects, the
  client asked for a part and would otherwise get, and maybe append, the whole;
- several valid ranges: the whole blob, ``200`` (a server may ignore ``Range``; Wharf sends
  no ``multipart/byteranges``);
- one valid range: ``206`` with that part if it is satisfiable (``first`` < size, ``last``
  clamped to the end; a ``-suffix`` of at least one byte, the whole blob if it is longer
  than the blob), else ``416``; a blob of zero bytes has no part to send, so a satisfiable
  suffix gets the whole (empty) blob, ``200``.

A ``416`` raises :class:`~wharf_registry.content.errors.RangeNotSatisfiable` (answered with
``Content-Range: bytes */<size>``). Numbers longer than 19 digits are taken as larger than
any blob rather than parsed.

``Content-Range`` of a chunk (end-5, end-6): the spec's form ``<start>-<end>`` exactly,
inclusive, digits only; :func:`chunk_range` returns ``(start, end)`` or None for anything else.
"""

from __future__ import annotations

import re

from ..content.errors import RangeNotSatisfiable

#: Larger than any blob (sizes are int64); stands for numbers too long to parse.
HUGE = 1 << 63

_NUMBER = "[0-9]+"
_INT_RANGE = re.compile(f"({_NUMBER})-({_NUMBER})?")
_SUFFIX_RANGE = re.compile(f"-({_NUMBER})")
_CHUNK_RANGE = re.compile(f"({_NUMBER})-({_NUMBER})")
_UNIT = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token


def blob_range(
    header: str | None, if_range: str | None, etag: str, size: int
) -> tuple[int, int] | None:
    """Return ``(start, stop)`` of the one part to send, or None to send the whole blob.

    Raises RangeNotSatisfiable; see the module docstring for every case.
    """
    if header is None or (if_range is not None and if_range.strip() != etag):
        return None
    unit, equals, range_set = header.strip().partition("=")
    if not equals or not _UNIT.fullmatch(unit) or unit.lower() != "bytes":
        return None
    specs = [spec.strip() for spec in range_set.split(",") if spec.strip()]
    parsed = [_spec(spec) for spec in specs]
    if not parsed or None in parsed:
        raise RangeNotSatisfiable(f"invalid range {header!r}", size)
    if len(parsed) > 1:
        return None
    first, last = parsed[0]
    if first is None:  # -suffix
        if last == 0:
            raise RangeNotSatisfiable(f"range {header!r} asks for no bytes", size)
        return None if size == 0 else (max(size - last, 0), size)
    if first >= size:
        raise RangeNotSatisfiable(f"range {header!r} starts past the {size} bytes", size)
    return first, size if last is None else min(last + 1, size)


def chunk_range(header: str) -> tuple[int, int] | None:
    """Return ``(start, end)`` of a chunk's ``Content-Range: <start>-<end>``, or None."""
    match = _CHUNK_RANGE.fullmatch(header.strip())
    if match is None:
        return None
    return _number(match[1]), _number(match[2])


def _spec(spec: str) -> tuple[int | None, int | None] | None:
    """Return ``(first, last)`` (``(None, n)`` for ``-n``), or None if ``spec`` is invalid."""
    if match := _SUFFIX_RANGE.fullmatch(spec):
        return None, _number(match[1])
    if match := _INT_RANGE.fullmatch(spec):
        first = _number(match[1])
        last = _number(match[2]) if match[2] is not None else None
        return None if last is not None and last < first else (first, last)
    return None


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= 19 else HUGE
