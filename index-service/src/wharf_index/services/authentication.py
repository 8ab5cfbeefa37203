"""Logging in: a name with a password *or* an access token, and bearer access tokens.

:func:`authenticate` is the one place that tells the two kinds of secret apart: a secret
shaped like an access token (services/credentials.py) is checked by
services/access_tokens.py, anything else as the user's password (here).

Throttling (services/login_throttle.py): failures are counted per (name as given, client
address), for unknown names exactly as for real ones; a locked pair gets LoginThrottled
without its secret being checked, and other addresses are not affected. A password is
checked with the same queries and one hash whether or not the name exists.
"""

from __future__ import annotations

from functools import partial

from ..domain import errors
from ..domain.model import Principal
from ..domain.names import MAX_USERNAME
from . import login_throttle
from .access_tokens import authenticate_token
from .credentials import looks_like_access_token, parse_access_token
from .principals import principal_for
from .unit_of_work import UnitOfWork


def authenticate(
    uow: UnitOfWork, username: str, secret: str, *, address: str | None = None
) -> Principal:
    """Check a username and a password *or* an access token; return the Principal.

    ``address`` is the client's (the throttle counts failures per name and address). Must
    be called outside any open ``with uow`` (a failure is committed before raising).
    Raises AuthenticationFailed (wrong name, password or token; disabled account; robots
    with a password) or LoginThrottled (too many failures of this name from this address).
    """
    if looks_like_access_token(secret):
        attempt = partial(authenticate_token, uow, secret, username=username)
    else:
        attempt = partial(_check_password, uow, username, secret)
    return login_throttle.guarded(uow, username, address, attempt)


def authenticate_bearer(uow: UnitOfWork, token: str, *, address: str | None = None) -> Principal:
    """Check an access token sent without a name (``Authorization: Bearer``), throttled
    under the name ``bearer:<its public id>`` (``bearer:`` when malformed): the token's
    public id names what is being guessed, as a username does for a password.
    Raises AuthenticationFailed, LoginThrottled."""
    parsed = parse_access_token(token)
    name = f"bearer:{parsed[0] if parsed else ''}"
    return login_throttle.guarded(uow, name, address, partial(authenticate_token, uow, token))


def could_be_username(name: object) -> bool:
    """Tell whether ``name`` may name an account at all (a string PostgreSQL can hold, of a
    username's length); anything else is simply unknown."""
    return isinstance(name, str) and 0 < len(name) <= MAX_USERNAME and _text(name)


def _text(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_password(uow: UnitOfWork, username: str, secret: str) -> Principal:
    """The same queries and one password hash whether or not ``username`` exists."""
    hasher = uow.config.hasher
    with uow:
        found = uow.users.credentials(username) if could_be_username(username) else None
    user, password_hash = found if found else (None, None)
    if user is not None and (user.disabled or user.is_robot):
        user, password_hash = None, None
    ok = hasher.verify(secret if isinstance(secret, str) and _text(secret) else "", password_hash)
    if user is None or not ok:
        raise errors.AuthenticationFailed()
    if hasher.needs_rehash(password_hash):
        with uow:
            uow.users.set_password_hash(user.id, hasher.hash(secret))
    return principal_for(uow, user)
