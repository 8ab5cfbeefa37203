"""Several registries for one repository: its holders, their mirrors, and the weighted
rotation in which the Index hands them out.

- **Holders** (role ``holder``): services.registries.holders -- the registries recorded as
  holding the repository, or before anything was pushed those that would take the first
  push (its namespace's route, services/routes.py, else the older namespace rule).
- **Mirrors** (role ``mirror``): a registry whose ``upstream`` is a holder, or is itself such
  a mirror (a chain), serves the repository when it serves the repository's namespace
  (domain.policy.registry_serves, the rule tokens and events follow). A mirror outside the
  namespace ends the chain there: its own mirrors get nothing through it. A registry
  that holds the repository itself is a holder, never listed twice.
- **Rotation**: the candidates (holders by name, then mirrors by name) are ordered by the
  smooth weighted round robin of domain/rotation.py at the repository's next turn
  (``registry_turns``: one shared counter per repository, so every Index process and
  worker hands out the same sequence; over every ``W`` consecutive handouts, ``W`` the sum
  of the weights, while candidates and weights stay the same, a registry of weight ``w``
  comes first exactly ``w`` times). A turn is taken only when at least two candidates
  have a positive weight; otherwise the order is fixed and nothing is written.

Which of them serve a caller (:func:`serving`) is the token policy's answer for a pull
token of each (domain.policy.registry_actions: kind and namespaces): the pull handshake and
the repository page name the first that serves the caller, without taking another turn.

Callers check visibility first (the repository comes from services.repositories'
``get_repository`` for the caller), so nothing here is reached for a repository the caller
may not see. Scenario C and tag deletion call the holders only: a mirror's copy follows its
upstream.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from wharf_protocol.names import namespace_of
from wharf_protocol.scopes import Scope

from ..domain import errors, policy, rotation
from ..domain.model import HOLDER, MIRROR, Placement, Principal, Registry, Repository
from .registries import holders
from .unit_of_work import UnitOfWork


def mirrors_of(
    listed: Iterable[Registry], directory: list[Registry], namespace: str
) -> list[Registry]:
    """The registries of ``directory`` that mirror one of ``listed`` (directly or through a
    chain of mirrors) and serve ``namespace``, not among ``listed``, by name."""
    by_upstream: dict[str, list[Registry]] = defaultdict(list)
    for registry in directory:
        if registry.upstream is not None:
            by_upstream[registry.upstream].append(registry)
    frontier = [r.name for r in listed]
    seen = set(frontier)
    found: list[Registry] = []
    while frontier:  # each registry enters once: bounded by the directory
        following = []
        for name in frontier:
            for mirror in by_upstream.get(name, ()):
                if mirror.name in seen or not policy.registry_serves(mirror.namespaces, namespace):
                    continue
                seen.add(mirror.name)
                found.append(mirror)
                following.append(mirror.name)
        frontier = following
    return sorted(found, key=lambda r: r.name)


def placements(uow: UnitOfWork, full_name: str) -> list[Placement]:
    """The holders of ``full_name`` by name, then its mirrors by name (module doc)."""
    with uow:
        held = holders(uow, full_name)
        directory = uow.registries.list()
    mirrors = mirrors_of(held, directory, namespace_of(full_name))
    return [Placement(r, HOLDER) for r in held] + [Placement(r, MIRROR) for r in mirrors]


def by_name(uow: UnitOfWork, full_name: str) -> list[Placement]:
    """Holders and mirrors of ``full_name`` by registry name (a stable listing)."""
    return sorted(placements(uow, full_name), key=lambda p: p.registry.name)


def hand_out(uow: UnitOfWork, repository: Repository) -> list[Placement]:
    """Holders and mirrors of ``repository`` in the order of its next turn (module doc)."""
    found = placements(uow, repository.full_name)
    weights = [p.registry.weight for p in found]
    if sum(1 for w in weights if w > 0) < 2:
        return [found[i] for i in rotation.rotate(weights, 0)]
    with uow:
        turn = uow.routing.take_turn(repository.id)
    return [found[i] for i in rotation.rotate(weights, turn)]


def choose(uow: UnitOfWork, repository: Repository) -> Placement:
    """The registry handed out first for ``repository`` this turn. Raises RegistryNotFound
    when no registry holds, would take or mirrors it."""
    found = hand_out(uow, repository)
    if not found:
        raise errors.RegistryNotFound(f"for {repository.full_name}")
    return found[0]


def serving(
    registries: Iterable[Registry], principal: Principal, repository: Repository
) -> list[Registry]:
    """Those of ``registries``, in their order, whose kind and namespaces let ``principal``
    pull ``repository`` (what a pull token of each would grant: policy.registry_actions)."""
    scope = Scope("repository", repository.full_name, frozenset({"pull"}))
    return [
        registry
        for registry in registries
        if "pull"
        in policy.registry_actions(
            policy.RegistryRules.of(registry), principal, scope, repository
        ).actions
    ]


def serving_first(
    registries: list[Registry], principal: Principal, repository: Repository
) -> list[Registry]:
    """``registries`` with the first of them that serves ``principal`` (:func:`serving`)
    moved to the front; unchanged when none does (a token's refusal then says why)."""
    for registry in serving(registries, principal, repository)[:1]:
        return [registry, *(r for r in registries if r is not registry)]
    return registries
