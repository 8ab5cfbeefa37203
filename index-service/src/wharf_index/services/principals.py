"""The Principal of a signed-in user: the user, the roles it holds (its grants, loaded once
per request for the policy) and, for access tokens, their scopes."""

from __future__ import annotations

from ..domain.model import Principal, TokenScope, User
from .unit_of_work import UnitOfWork


def principal_for(
    uow: UnitOfWork,
    user: User,
    scopes: tuple[TokenScope, ...] | None = None,
    access_token_id: int | None = None,
) -> Principal:
    """Build the Principal of an authenticated user (loads its grants)."""
    with uow:
        grants = uow.grants.for_user(user.id)
    return Principal(user=user, grants=grants, scopes=scopes, access_token_id=access_token_id)
