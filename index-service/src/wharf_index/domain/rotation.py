"""The order in which the Index hands out a repository's registries: a smooth weighted round
robin (the algorithm of nginx's upstream module, ``ngx_http_upstream_get_peer``).

Each registry ``i`` has a weight ``w_i`` (0..100) and a current value ``c_i``, all 0 at the
start. One step: every ``c_i += w_i``; the registry with the largest ``c_i`` is picked
(ties: the earliest in the candidates' order); its ``c_i -= W``, ``W`` the sum of weights.
After ``W`` steps every ``c_i`` is 0 again, so the sequence has period ``W`` and a
registry of weight ``w`` is picked exactly ``w`` times in every period of ``W``
consecutive steps, spread out (weights 5, 1, 1 give ``a a b a c a a``, not ``a a a a a b c``).

Turn ``n`` (counted by the Index per repository, registry_turns) orders the list: first the
pick of step ``n mod W``, then the others in the order the sequence picks them first after
it, then the registries of weight 0 in the candidates' order (listed, never first). With
no positive weight at all the candidates' order is the answer. Pure: no clock, no randomness,
so every Index process hands out the same sequence.
"""

from __future__ import annotations

from collections.abc import Sequence


def _steps(weights: Sequence[int], start: int, count: int) -> list[int]:
    """The picks (indices into ``weights``) of steps ``start .. start + count - 1``."""
    total = sum(weights)
    current = [0] * len(weights)
    picks: list[int] = []
    for step in range(start + count):
        best = 0
        for i, weight in enumerate(weights):
            current[i] += weight
            if current[i] > current[best]:
                best = i
        current[best] -= total
        if step >= start:
            picks.append(best)
    return picks


def pick(weights: Sequence[int], turn: int) -> int | None:
    """The index picked at ``turn`` (0-based), or None when no weight is positive."""
    order = rotate(weights, turn)
    return order[0] if order and weights[order[0]] > 0 else None


def rotate(weights: Sequence[int], turn: int) -> list[int]:
    """Every index of ``weights`` in the order turn ``turn`` hands them out (module doc).

    ``weights``: non-negative integers in the candidates' order; ``turn``: >= 0.
    """
    if any(w < 0 for w in weights) or turn < 0:
        raise ValueError("weights and turn must not be negative")
    total = sum(weights)
    if total == 0:
        return list(range(len(weights)))
    order = list(dict.fromkeys(_steps(weights, turn % total, total)))
    return order + [i for i, w in enumerate(weights) if w == 0]
