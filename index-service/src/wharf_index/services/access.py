"""Authorise a token request: requested scopes -> granted scopes (scenario B included).

Used by the token endpoint (/v2/token) and the seed's /v1/ handshake.
"""

from __future__ import annotations

from collections.abc import Iterable

from wharf_protocol.scopes import Scope

from ..domain import policy
from ..domain.model import Principal
from .repositories import ensure_repository


def authorize(uow, principal: Principal, requested: Iterable[Scope], *,
              allocate: bool = True) -> tuple[Scope, ...]:  # fmt: skip
    """Return ``requested`` cut down to what ``principal`` may do; never raises for asking
    too much.

    With ``allocate``, a ``push`` (or ``*``) request on a repository that does not exist
    creates it when the principal may create repositories in its namespace (scenario B);
    otherwise push is simply not granted.
    """
    requested = tuple(requested)
    names = [s.name for s in requested if s.type == "repository"]
    with uow:
        found = uow.repositories.find_many(names) if names else {}
        if allocate and principal.user is not None:
            for scope in requested:
                wants_push = "push" in scope.actions or "*" in scope.actions
                if scope.type == "repository" and scope.name not in found and wants_push:
                    repository = ensure_repository(uow, principal, scope.name)
                    if repository is not None:
                        found[scope.name] = repository
        return policy.grant(principal, requested, found.get)
