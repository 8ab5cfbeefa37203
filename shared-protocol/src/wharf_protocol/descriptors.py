"""OCI content descriptors' ``size``: the one rule both services check it by.

The image spec ("Descriptors") makes ``size`` an int64 of the content's length in bytes, so
a size is an integer (a JSON boolean is not one) in ``[0, 2**63)``. The registry applies it
to every descriptor of a pushed manifest, the Index to the sizes registries' events carry
and to sizes it reads back, so neither stores nor serves a number outside int64.
"""

from __future__ import annotations

__all__ = ["MAX_SIZE", "is_size"]

#: The largest size a descriptor may declare (int64's maximum).
MAX_SIZE = (1 << 63) - 1


def is_size(value: object) -> bool:
    """Tell whether ``value`` is a valid descriptor size: an int in ``[0, 2**63)``."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SIZE
