"""Byte counts as people write and read them: ``10GiB``, ``512 MiB``, ``1073741824``.

Units are binary (IEC 80000-13): ``KiB`` = 1024 bytes, ``MiB`` = 1024 KiB, up to ``EiB``;
``B`` (or no unit) is bytes. Both services use these for storage quotas: the Index parses
the setting and the command line's sizes, a registry words its refusals with them.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

__all__ = ["MAX_BYTES", "format_size", "parse_size"]

MAX_BYTES = 2**63 - 1  # an OCI descriptor's size is an int64
UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
_FACTORS = {unit.lower(): 1024**power for power, unit in enumerate(UNITS)}
_SIZE_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*")


def parse_size(text: str) -> int:
    """Return the bytes ``text`` says (``10GiB``, ``1.5 TiB``, ``4096``, ``4096B``); a
    fraction of a byte is rounded down. ValueError, naming the accepted forms, otherwise."""
    match = _SIZE_RE.fullmatch(text)
    factor = _FACTORS.get(match.group(2).lower() or "b") if match else None
    if match is None or factor is None:
        raise ValueError(
            f"{text!r} is not a size: a number of bytes, or a number with one of the units "
            + ", ".join(UNITS)
            + " (e.g. 10GiB)"
        )
    try:
        value = int(Decimal(match.group(1)) * factor)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f"{text!r} is not a size") from None
    if value > MAX_BYTES:
        raise ValueError(f"{text!r} is more than 2**63 - 1 bytes")
    return value


def format_size(size: int, *, rounding: str = "nearest") -> str:
    """Word ``size`` bytes in the largest binary unit it reaches, with one decimal and
    without a trailing ``.0``: ``512 B``, ``1.5 KiB``, ``10 GiB``, ``10.2 GiB``.

    ``rounding`` is ``nearest``, ``up`` or ``down`` (to the shown decimal): a refusal shows
    what was used rounded up and the limit rounded down, so the use shown is above the
    limit shown whenever the real one is.
    """
    if size < 1024:
        return f"{size} B"
    power = min(int(math.log(size, 1024)), len(UNITS) - 1)
    while power > 1 and size < 1024**power:  # float log may overshoot at the boundaries
        power -= 1
    while power + 1 < len(UNITS) and size >= 1024 ** (power + 1):
        power += 1
    tenths = Decimal(size * 10) / Decimal(1024**power)
    if rounding == "up":
        shown = math.ceil(tenths)
    elif rounding == "down":
        shown = math.floor(tenths)
    else:
        shown = int(tenths.to_integral_value())
    whole, tenth = divmod(int(shown), 10)
    number = str(whole) if tenth == 0 else f"{whole}.{tenth}"
    return f"{number} {UNITS[power]}"
