"""The weighted rotation (domain/rotation.py) and the mirror chains (services/chaining.py's
``mirrors_of``), without a database: both are pure, so the counts below are exact."""

from __future__ import annotations

from collections import Counter

import pytest
from wharf_index.domain import rotation
from wharf_index.domain.model import Registry
from wharf_index.services.chaining import mirrors_of


@pytest.mark.parametrize(
    "weights", [(5, 1, 1), (3, 2, 0), (1, 1), (100, 1), (0, 7, 0, 2), (2, 3, 5, 7)]
)
def test_every_period_hands_out_first_places_exactly_by_weight(weights):
    total = sum(weights)
    for start in (0, 1, total - 1, 10 * total + 3):  # any W consecutive turns
        firsts = Counter(rotation.rotate(weights, turn)[0] for turn in range(start, start + total))
        assert firsts == Counter({i: w for i, w in enumerate(weights) if w})


def test_the_sequence_is_smooth_and_the_rest_follow_their_next_turns():
    firsts = [rotation.rotate((5, 1, 1), turn)[0] for turn in range(7)]
    assert "".join("abc"[i] for i in firsts) == "aabacaa"  # not aaaaabc
    assert rotation.rotate((5, 1, 1), 2) == [1, 0, 2]
    assert rotation.rotate((5, 1, 1), 3) == [0, 2, 1]


def test_weight_zero_is_listed_last_and_never_first():
    for turn in range(20):
        order = rotation.rotate((0, 2, 0, 1), turn)
        assert sorted(order) == [0, 1, 2, 3] and order[2:] == [0, 2]
    assert rotation.rotate((0, 0, 0), 5) == [0, 1, 2]  # no positive weight: as given
    assert rotation.pick((0, 0), 1) is None and rotation.pick((0, 4), 9) == 1
    assert rotation.rotate((), 3) == []


def test_negative_input_is_refused():
    with pytest.raises(ValueError):
        rotation.rotate((1, -1), 0)
    with pytest.raises(ValueError):
        rotation.rotate((1, 1), -1)


def _registry(rid, name, namespaces=(), upstream=None):
    return Registry(rid, name, f"https://{name}", "mirror", tuple(namespaces), upstream=upstream)


def test_mirrors_follow_chains_within_the_namespaces_they_serve():
    a = _registry(1, "a")
    directory = [
        a,
        _registry(2, "b", ("alice",), upstream="a"),
        _registry(3, "c", upstream="b"),  # mirror of a mirror: a chain
        _registry(4, "d", ("bob",), upstream="a"),  # not alice's: not listed...
        _registry(5, "e", upstream="d"),  # ...and nothing reaches alice through it
        _registry(6, "f", upstream="zz"),  # mirrors another registry
        _registry(7, "g", upstream="c"),
    ]
    assert [r.name for r in mirrors_of([a], directory, "alice")] == ["b", "c", "g"]
    # b serves alice only, so c (every namespace, but mirroring b) gets none of bob's.
    assert [r.name for r in mirrors_of([a], directory, "bob")] == ["d", "e"]
    # A holder is never listed again as a mirror; nothing held, nothing mirrored.
    b = directory[1]
    assert [r.name for r in mirrors_of([a, b], directory, "alice")] == ["c", "g"]
    assert mirrors_of([], directory, "alice") == []


def test_a_cycle_in_the_records_still_ends():
    directory = [_registry(1, "a", upstream="b"), _registry(2, "b", upstream="a")]
    assert [r.name for r in mirrors_of([directory[0]], directory, "x")] == ["b"]
