"""The original /v1/ handshake of Docker's v1 Index protocol (scenarios A step 2, B, C)
and ``docker search``.

Which registries ``X-Docker-Endpoints`` names:

- pull (``GET .../images``): the repository's holders and their mirrors in the weighted
  rotation of services/chaining.py (each such answer takes the repository's next turn);
- push (``PUT``): its namespace's route when it has one (services/routes.py), else
  services.registries.holders (the registries recorded as holding it, or, before anything
  was pushed, those that would take its first push); never a mirror;
- delete: services.registries.holders, the registries scenario C calls.

Tokens handed out here are ordinary registry tokens (recorded, verifiable, revocable) whose
audience is the first registry named; with no such registry no token can be made and none is
sent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from wharf_protocol import mediatypes
from wharf_protocol.scopes import Scope

from ..domain import errors, policy
from ..domain.model import Principal
from . import chaining, routes
from .access import authorize
from .registries import holders
from .repositories import get_repository, mark_deleting, split_name
from .tokens import TokenAuthority, issue
from .unit_of_work import UnitOfWork

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_PAGE = 10_000
MAX_QUERY = 200


@dataclass(frozen=True)
class Handshake:
    """What the /v1/ repository endpoints answer: layer checksums, token, endpoints."""

    checksums: tuple[str, ...] = ()
    token: str | None = None
    endpoints: tuple[str, ...] = ()


def _token(
    uow: UnitOfWork,
    authority: TokenAuthority,
    principal: Principal,
    name: str,
    actions: set[str],
    registries: list,
) -> str | None:
    if not registries:
        return None
    scope = Scope("repository", name, frozenset(actions))
    return issue(uow, authority, principal, registries[0].name, (scope,), allocate=False).token


def _hosts(registries: list) -> tuple[str, ...]:
    return tuple(urlsplit(registry.url).netloc for registry in registries)


def images(
    uow: UnitOfWork,
    authority: TokenAuthority,
    principal: Principal,
    full_name: str,
    *,
    want_token: bool,
) -> Handshake:
    """Layer checksums of the repository's tagged manifests (+ a pull token if asked).

    Raises RepositoryNotFound for unknown names and repositories the caller may not see.
    """
    with uow:
        repository = get_repository(uow, principal, full_name)
        layers = uow.content.layer_checksums(repository.id)
    # the first registry whose kind serves the caller goes first (a mirror or private
    # registry first in turn does not serve an anonymous caller): the token is for it
    registries = chaining.serving_first(
        [p.registry for p in chaining.hand_out(uow, repository)], principal, repository
    )
    token = (
        _token(uow, authority, principal, full_name, {"pull"}, registries) if want_token else None
    )
    return Handshake(
        tuple(d for d, media_type in layers if not _is_manifest(media_type)),
        token,
        _hosts(registries),
    )


def _is_manifest(media_type: str) -> bool:
    return mediatypes.is_manifest(media_type or "") or mediatypes.is_index(media_type or "")


def allocate(
    uow: UnitOfWork, authority: TokenAuthority, principal: Principal, full_name: str
) -> Handshake:
    """Scenario B: allocate ``full_name`` if needed and hand out a pull+push token.

    Raises NameInvalid, PermissionDenied (no push: the same answer whether or not the
    repository exists, so nothing is revealed).
    """
    namespace, _ = split_name(full_name)  # NameInvalid
    scope = Scope("repository", full_name, frozenset({"pull", "push"}))
    granted = authorize(uow, principal, (scope,), allocate=True)
    if not any("push" in s.actions for s in granted):
        raise errors.PermissionDenied(f"you may not push to {full_name}")
    registries = routes.push_registries(uow, namespace) or holders(uow, full_name)
    token = _token(uow, authority, principal, full_name, {"pull", "push"}, registries)
    return Handshake((), token, _hosts(registries))


def delete(
    uow: UnitOfWork, authority: TokenAuthority, principal: Principal, full_name: str
) -> Handshake:
    """Scenario C steps 1-2: mark the repository deleting and hand out a delete token.

    Raises RepositoryNotFound (invisible), PermissionDenied (no delete right).
    """
    repository = mark_deleting(uow, principal, full_name)
    registries = holders(uow, repository.full_name)
    token = _token(uow, authority, principal, full_name, {"delete"}, registries)
    return Handshake((), token, _hosts(registries))


def _integer(raw: str | None, name: str, default: int, maximum: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise errors.ValueInvalid(name, f"{name} must be an integer from 1 to {maximum}")
    return int(raw)


def search(
    uow: UnitOfWork, principal: Principal, query: str | None, n: str | None, page: str | None
) -> dict:
    """``docker search``: one page of visible repositories matching ``query``.

    Raises ValueInvalid for a bad ``n`` (1..100, default 25), ``page`` (1..10000, default
    1) or query (at most 200 characters, no NUL).
    """
    query = (query or "").strip()
    if len(query) > MAX_QUERY or "\x00" in query:
        raise errors.ValueInvalid("q", f"the query must be at most {MAX_QUERY} characters")
    size = _integer(n, "n", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    number = _integer(page, "page", 1, MAX_PAGE)
    with uow:
        rows, total = uow.search.page(principal, query, limit=size, offset=(number - 1) * size)
    if principal.scopes is not None:  # access tokens: scopes are not SQL, filter after
        rows = [r for r in rows if policy.may_see(principal, r)]
    results = [
        {
            "name": r.full_name,
            "description": r.description,
            "star_count": r.star_count,
            "is_official": False,
            "is_automated": False,
        }
        for r in rows
    ]
    return {
        "query": query,
        "num_results": total,
        "num_pages": math.ceil(total / size),
        "page": number,
        "page_size": size,
        "results": results,
    }
