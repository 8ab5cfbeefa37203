"""A thread-safe, bounded LRU map whose values expire: the caches of verified credentials
(the Index) and of verified tokens (the registry) are both one.

``expiry(value)`` gives the time, on the caller's clock, from which a value is no longer
returned (it is dropped when found expired); beyond ``capacity`` entries the least
recently used goes first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringLRU(Generic[K, V]):
    """See the module docstring."""

    def __init__(self, capacity: int, expiry: Callable[[V], float]) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._expiry = expiry
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, now: float) -> V | None:
        """The value for ``key`` (now the most recently used), unless absent or expired at
        ``now``."""
        with self._lock:
            value = self._values.get(key)
            if value is None:
                return None
            if now >= self._expiry(value):
                del self._values[key]
                return None
            self._values.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Store ``value`` (the most recently used), evicting beyond the capacity."""
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.capacity:
                self._values.popitem(last=False)

    def drop(self, key: K) -> None:
        with self._lock:
            self._values.pop(key, None)

    def keys(self) -> list[K]:
        with self._lock:
            return list(self._values)

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)
