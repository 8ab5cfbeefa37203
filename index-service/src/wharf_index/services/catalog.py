"""Repository listings for clients that list rather than search: the Index's own
``GET /v2/_catalog`` (podman's ``search`` falls back to it) and a registry's question
"which of these names of my catalog may this token's caller pull?" (api/internal.py).

A registry's catalog holds exactly what the caller may pull *there*: the Index grants
``registry:catalog:*`` to every caller the registry's kind serves (domain.policy.grant) for
a registry that filters (services/tokens.py, ``_catalog_rule``: else to administrators
only), and such a registry filters each page of its storage's names through
:func:`pullable`, which answers with the decision token issuance makes for a pull token of
that registry (services.access.decide, domain.policy.registry_actions: its kind and
namespaces included), so a mirror lists a signed-in outsider nothing and a vendor lists
only its namespaces. Administrators see every name the registry's kind and namespaces let
them pull (policy.kind_ceiling), including names the Index has no record of; the Index
itself (``registry sync``, SYSTEM) sees every name: its own calls follow no kind.
"""

from __future__ import annotations

from wharf_protocol.names import is_valid_repository_name
from wharf_protocol.scopes import Scope

from ..domain import errors, policy
from ..domain.model import SYSTEM, Principal
from .access import decide
from .unit_of_work import UnitOfWork

MAX_NAMES = 1000  # names per question from a registry
DEFAULT_PAGE = 100
MAX_PAGE = 1000


def pullable(
    uow: UnitOfWork,
    principal: Principal,
    names: object,
    registry: policy.RegistryRules | None = None,
) -> list[str]:
    """Return the names of ``names`` (a list of repository names, at most MAX_NAMES) that
    ``principal`` may pull in a token for ``registry`` (None: at no registry in particular),
    in their order (module doc). Raises ValueInvalid for anything else."""
    if (
        not isinstance(names, list)
        or len(names) > MAX_NAMES
        or not all(isinstance(n, str) and is_valid_repository_name(n) for n in names)
    ):
        raise errors.ValueInvalid("names", f"names must be up to {MAX_NAMES} repository names")
    requested = {n: Scope("repository", n, frozenset({"pull"})) for n in dict.fromkeys(names)}
    if principal == SYSTEM:
        return list(names)
    if principal.is_admin and principal.scopes is None:
        if registry is None:
            return list(names)
        return [
            n
            for n in names
            if "pull" in policy.kind_ceiling(registry, principal, requested[n]).actions
        ]
    with uow:
        found = uow.repositories.find_many(list(requested)) if names else {}
        granted = decide(uow, principal, tuple(requested.values()), found, registry)
    allowed = {s.name for s in granted if "pull" in s.actions}
    return [n for n in names if n in allowed]


def page(
    uow: UnitOfWork, principal: Principal, n: str | None, last: str | None
) -> tuple[list[str], int, str | None]:
    """One page of the names ``principal`` may pull, sorted, after ``last`` (the Index's
    ``/v2/_catalog``), the page size, and the ``last`` of the next page (None: no more). An
    access token's scopes may leave a page short. Raises ValueInvalid for ``n`` outside
    0..MAX_PAGE."""
    if n is None or n == "":
        size = DEFAULT_PAGE
    elif n.isdigit() and int(n) <= MAX_PAGE:
        size = int(n)
    else:
        raise errors.ValueInvalid("n", f"n must be an integer from 0 to {MAX_PAGE}")
    if size == 0:
        return [], 0, None
    with uow:
        names = uow.search.names(principal, after=last or None, limit=size)
    following = names[-1] if len(names) == size else None
    if principal.scopes is not None:  # access tokens: scopes are not SQL, filter after
        names = [name for name in names if "pull" in policy.scope_actions(principal, name)]
    return names, size, following
