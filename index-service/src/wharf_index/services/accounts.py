"""Accounts: create users, passwords, administrators, disabling and deleting.

Logging in (passwords and access tokens, throttled) is services/authentication.py; the
Principal of a signed-in user services/principals.py.

Credential epoch: setting a password (changing it, an administrator's reset) and
disabling an account raise ``users.credential_epoch``; sessions and refresh tokens
remember the epoch they were made with and end when it differs (api/rest/auth.py,
services/tokens.py), and the user's issued registry and refresh tokens are revoked.
"""

from __future__ import annotations

import re

from ..domain import errors
from ..domain.model import SYSTEM, Principal, User
from ..domain.names import check_namespace_name
from . import audit, login_throttle
from .authentication import authenticate
from .passwords import check_password_rules
from .unit_of_work import UnitOfWork

EMAIL_RE = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")


def check_email(email: object) -> str:
    """Return ``email`` stripped if it looks like an address; raise ValueInvalid."""
    if not isinstance(email, str) or len(email) > 254 or not EMAIL_RE.match(email.strip()):
        raise errors.ValueInvalid("email", "a valid email address is required")
    return email.strip()


def create_user(
    uow: UnitOfWork,
    username: str,
    email: str,
    password: str,
    *,
    admin: bool = False,
    actor: Principal = SYSTEM,
) -> User:
    """Create a user and its namespace; return the user.

    Raises NameInvalid/ReservedName, ValueInvalid (email), StateConflict (email in use),
    PasswordInvalid, UsernameTaken
    (a user, robot owner or organisation holds the name), PermissionDenied (``admin`` by a
    non-administrator).
    """
    check_namespace_name(username, allow_admin_only=actor.is_admin)
    email = check_email(email)
    password_hash = uow.config.hasher.hash(check_password_rules(password))
    if admin and not actor.is_admin:
        raise errors.PermissionDenied("only administrators may create administrators")
    with uow:
        namespace = uow.namespaces.create(username, "user", uow.config.default_visibility)
        if namespace is None:
            raise errors.UsernameTaken(username)
        if uow.users.email_taken(email):
            raise errors.StateConflict("email", "that email address is already in use")
        user = uow.users.create(username, email, password_hash, namespace.id, is_admin=admin)
        if user is None:
            raise errors.UsernameTaken(username)
        audit.record(
            uow,
            actor,
            "user.create",
            "user",
            username,
            namespace_id=namespace.id,
            detail={"admin": admin},
        )
        return user


def get_user(uow: UnitOfWork, username: str) -> User:
    """Return the user; UserNotFound otherwise."""
    with uow:
        return uow.users.get(username)


def list_users(
    uow: UnitOfWork,
    *,
    after: str | None = None,
    limit: int = 100,
    robots: bool = False,
    containing: str | None = None,
) -> list[User]:
    """Users by name after ``after``; ``containing``: names holding that text."""
    with uow:
        return uow.users.list(after=after, limit=limit, robots=robots, containing=containing)


def set_password(
    uow: UnitOfWork, username: str, password: str, *, actor: Principal = SYSTEM
) -> None:
    """Replace a user's password (self or administrator); revoke their issued tokens.

    Raises UserNotFound, PasswordInvalid, PermissionDenied.
    """
    password_hash = uow.config.hasher.hash(check_password_rules(password))
    with uow:
        user = uow.users.get(username)
        if not actor.is_admin and (actor.user is None or actor.user.id != user.id):
            raise errors.PermissionDenied()
        if user.is_robot:
            raise errors.StateConflict("password", "robots have no password; use a token")
        uow.users.set_password_hash(user.id, password_hash)
        uow.users.bump_credential_epoch(user.id)
        uow.login_failures.reset(login_throttle.name_hash(username))
        uow.issued_tokens.revoke_for_user(user.id)
        audit.record(uow, actor, "user.set_password", "user", username)


def change_password(
    uow: UnitOfWork,
    username: str,
    old_password: str,
    new_password: str,
    *,
    address: str | None = None,
) -> None:
    """Change one's own password after checking the old one (AuthenticationFailed,
    LoginThrottled: the check is throttled like a login from ``address``)."""
    principal = authenticate(uow, username, old_password, address=address)
    if principal.scopes is not None:
        raise errors.AuthenticationFailed()
    set_password(uow, username, new_password, actor=principal)


def change_email(
    uow: UnitOfWork,
    username: str,
    password: str,
    email: str,
    *,
    address: str | None = None,
) -> User:
    """Change one's own email address after checking the password (AuthenticationFailed,
    LoginThrottled: the check is throttled like a login from ``address``). The address
    follows the rule of new accounts (ValueInvalid) and, as there, may belong to one user
    only, in any case (StateConflict); the user's own address in another case is theirs."""
    email = check_email(email)
    principal = authenticate(uow, username, password, address=address)
    if principal.scopes is not None or principal.user is None:  # a token is no password
        raise errors.AuthenticationFailed()
    with uow:
        user = uow.users.get(username)
        if not uow.users.set_email(user.id, email):
            raise errors.StateConflict("email", "that email address is already in use")
        audit.record(uow, principal, "user.set_email", "user", username)
        return uow.users.get(username)


def set_admin(uow: UnitOfWork, username: str, is_admin: bool, *, actor: Principal = SYSTEM) -> User:
    """Grant or revoke administrator rights. Raises UserNotFound, PermissionDenied."""
    if not actor.is_admin:
        raise errors.PermissionDenied()
    with uow:
        user = uow.users.get(username)
        if user.is_robot:
            raise errors.StateConflict("admin", "robots cannot be administrators")
        uow.users.set_admin(user.id, is_admin)
        audit.record(
            uow, actor, "user.grant_admin" if is_admin else "user.revoke_admin", "user", username
        )
        return uow.users.get(username)


def set_disabled(
    uow: UnitOfWork, username: str, disabled: bool, *, actor: Principal = SYSTEM
) -> None:
    """Disable (no logins, no tokens) or re-enable an account; administrators only."""
    if not actor.is_admin:
        raise errors.PermissionDenied()
    with uow:
        user = uow.users.get(username)
        uow.users.set_disabled(user.id, disabled)
        if disabled:
            uow.users.bump_credential_epoch(user.id)
            uow.issued_tokens.revoke_for_user(user.id)
        audit.record(uow, actor, "user.disable" if disabled else "user.enable", "user", username)


def delete_user(uow: UnitOfWork, username: str, *, actor: Principal = SYSTEM) -> None:
    """Delete a user with its namespace, repositories and robots (self or administrator).

    Raises UserNotFound, PermissionDenied, or StateConflict when the user is the last owner of
    an organisation (hand it over first).
    """
    with uow:
        user = uow.users.get(username)
        if not actor.is_admin and (actor.user is None or actor.user.id != user.id):
            raise errors.PermissionDenied()
        orphaned = uow.orgs.solely_owned_by(user.id)
        if orphaned:
            raise errors.StateConflict(
                "user", f"{username} is the last owner of: {', '.join(orphaned)}"
            )
        # recorded first: a self-deletion's actor row must still exist (then SET NULL)
        audit.record(uow, actor, "user.delete", "user", username)
        uow.users.delete(user.id)
