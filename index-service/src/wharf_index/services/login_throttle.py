"""Failed-login throttling, per (name, client address).

Every failed check of a secret -- a password, or an access token given as a password or as
``Authorization: Bearer`` -- is counted for the pair (the name as the client gave it, the
client's address), whether or not an account of that name exists. From the
``INDEX_LOGIN_THROTTLE_FAILURES``-th consecutive failure on, the pair is locked for
``INDEX_LOGIN_THROTTLE_DELAY * 2**(failures - threshold)`` seconds, capped at
``INDEX_LOGIN_THROTTLE_MAX_DELAY``; while locked, every attempt of the pair answers
LoginThrottled (429 with ``Retry-After``) without checking the secret, right or wrong.
A success resets the pair. Bearer tokens carry no name: they count under
``bearer:<the token's public id>`` (the part of ``wharf_pat_<public id>_<secret>`` that
names the token; no username contains ``:``), so a script hammering with its revoked token
locks out only that token from its address.

So an attacker guessing one account's password from one address is slowed down as before,
but:

- the right password from another address still works (nobody can lock anyone out);
- an unknown name gives the same sequence of answers as a real one (401, then 429), after
  the same work (the same queries, one password hash), so the answers do not tell which
  names exist.

The pair's row is forgotten ``INDEX_LOGIN_THROTTLE_MAX_DELAY`` seconds after its last
failure or the end of its lock-out, whichever is later (adapters/login_failures.py); each
recorded failure deletes forgotten rows first, so the table holds recent failures only.
The name is stored as its SHA-256, so any string a client sends fits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from ..domain import errors
from ..domain.model import Principal
from .unit_of_work import UnitOfWork

MAX_ADDRESS = 64


def name_hash(name: object) -> bytes:
    """Return the key of a name as given (any string; non-strings count as empty)."""
    text = name if isinstance(name, str) else ""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def stored_address(address: str | None) -> str:
    """Return the stored form of a client address."""
    return (address or "")[:MAX_ADDRESS]


def check(uow: UnitOfWork, name: object, address: str | None) -> int:
    """Raise LoginThrottled while (name, address) is locked out; else return the failures
    recorded for it (0: nothing to reset on success)."""
    with uow:
        failures, locked_for = uow.login_failures.state(name_hash(name), stored_address(address))
    if locked_for:
        raise errors.LoginThrottled(locked_for)
    return failures


def failed(uow: UnitOfWork, name: object, address: str | None) -> None:
    """Count one failure of (name, address); commits at once."""
    config = uow.config
    with uow:
        uow.login_failures.record(
            name_hash(name),
            stored_address(address),
            threshold=config.throttle_failures,
            delay=config.throttle_delay,
            max_delay=config.throttle_max_delay,
        )


def guarded(
    uow: UnitOfWork, name: object, address: str | None, attempt: Callable[[], Principal]
) -> Principal:
    """Run ``attempt`` (a secret check raising AuthenticationFailed) under the throttle.

    Must be called outside any open ``with uow``. Raises LoginThrottled (locked, nothing
    checked) or the attempt's AuthenticationFailed (counted).
    """
    recorded = check(uow, name, address)
    try:
        principal = attempt()
    except errors.AuthenticationFailed:
        failed(uow, name, address)
        raise
    if recorded:
        with uow:
            uow.login_failures.reset(name_hash(name), stored_address(address))
    return principal
