import threading

import pytest
from wharf_protocol.lru import ExpiringLRU


def lru(capacity: int = 2) -> ExpiringLRU[str, tuple[str, float]]:
    return ExpiringLRU(capacity, lambda value: value[1])


def test_a_value_is_returned_until_its_expiry():
    cache = lru()
    cache.put("a", ("A", 10.0))
    assert cache.get("a", 9.99) == ("A", 10.0)
    assert cache.get("a", 10.0) is None
    assert len(cache) == 0  # dropped when found expired


def test_the_least_recently_used_goes_first():
    cache = lru(2)
    cache.put("a", ("A", 99.0))
    cache.put("b", ("B", 99.0))
    cache.get("a", 0.0)
    cache.put("c", ("C", 99.0))
    assert cache.keys() == ["a", "c"]
    cache.drop("a")
    cache.drop("absent")
    assert cache.keys() == ["c"]


def test_a_capacity_below_one_is_refused():
    with pytest.raises(ValueError, match="capacity"):
        ExpiringLRU(0, lambda value: 0.0)


def test_threads_never_push_it_past_its_capacity():
    cache = lru(50)

    def fill(n: int) -> None:
        for i in range(2000):
            cache.put(f"{n}-{i}", ("x", 99.0))
            cache.get(f"{n}-{i // 2}", 0.0)

    threads = [threading.Thread(target=fill, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 50
