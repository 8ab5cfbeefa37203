"""Personal access tokens and robot accounts: usable as the ``docker login`` password.

A token is shown once (``wharf_pat_<public_id>_<secret>``), stored as an HMAC of its
secret (credentials.py), limited to its scopes (repository patterns + actions, see
domain.model.TokenScope), optionally expiring, revocable, and its last use is recorded.

A robot is a user named ``<namespace>+<name>`` owned by a namespace; it has no password,
only tokens, and acts with admin rights over its owner's namespace (plus any collaborator
or team grant given to it), always cut down to its token's scopes.

Scope actions: ``pull``, ``push``, ``delete`` (``*`` is all three: what a registry token
may carry) and ``admin``, repository administration through the API, which only a scope
naming it explicitly grants (domain.policy.may_administer).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wharf_protocol import names as protocol_names

from ..domain import errors, policy
from ..domain.model import SYSTEM, TOKEN_ACTIONS, AccessToken, Principal, TokenScope, User
from ..domain.names import robot_username
from . import audit, credentials
from .principals import principal_for
from .unit_of_work import UnitOfWork

MAX_TOKEN_DAYS = 3650


def parse_scopes(raw) -> tuple[TokenScope, ...]:
    """Validate scopes given as ``[{"repository": pattern, "actions": [...]}]`` or as
    strings ``"pattern:pull,push"``; raise ScopeInvalid."""
    scopes = []
    for item in raw or ():
        if isinstance(item, str):
            pattern, sep, actions = item.rpartition(":")
            item = {"repository": pattern if sep else "", "actions": actions.split(",")}
        if not isinstance(item, dict):
            raise errors.ScopeInvalid(f"invalid scope: {item!r}")
        pattern = item.get("repository")
        actions = frozenset(a for a in item.get("actions") or () if a)
        if not _valid_pattern(pattern):
            raise errors.ScopeInvalid(f"invalid repository pattern: {pattern!r}")
        if not actions or not actions <= set(TOKEN_ACTIONS) | {"*"}:
            raise errors.ScopeInvalid(
                f"actions must be pull, push, delete, * or admin: {sorted(actions)}"
            )
        scopes.append(TokenScope(pattern, actions))
    if not scopes:
        raise errors.ScopeInvalid("a token needs at least one scope")
    return tuple(scopes)


def _valid_pattern(pattern: object) -> bool:
    if not isinstance(pattern, str):
        return False
    if pattern == "*":
        return True
    base = pattern[:-2] if pattern.endswith("/*") else pattern
    return protocol_names.is_valid_repository_name(base)


def _expiry(expires_in_days: int | None) -> datetime | None:
    if expires_in_days is None:
        return None
    if not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        raise errors.ValueInvalid("expires", f"expiry must be 1..{MAX_TOKEN_DAYS} days")
    return datetime.now(UTC) + timedelta(days=expires_in_days)


def _issue(
    uow: UnitOfWork, user: User, name: str, scopes, expires_in_days, actor
) -> tuple[AccessToken, str]:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise errors.ValueInvalid("name", "token names are 1..100 characters")
    public_id, secret = credentials.new_public_id(), credentials.new_secret()
    token = uow.access_tokens.create(
        public_id,
        user.id,
        name.strip(),
        credentials.hash_secret(credentials.PURPOSE_ACCESS_TOKEN, secret),
        parse_scopes(scopes),
        _expiry(expires_in_days),
        actor.user.id if actor.user is not None and actor.user.id > 0 else None,
    )
    audit.record(
        uow,
        actor,
        "token.create",
        "user",
        user.username,
        detail={
            "token": public_id,
            "name": token.name,
            "scopes": [s.to_dict() for s in token.scopes],
        },
    )
    return token, credentials.format_access_token(public_id, secret)


def create_access_token(
    uow: UnitOfWork,
    principal: Principal,
    name: str,
    scopes,
    *,
    expires_in_days: int | None = None,
    username: str | None = None,
) -> tuple[AccessToken, str]:
    """Create a personal access token for the principal (or, for admins, ``username``).

    Returns (token, the token string, shown once). Tokens cannot be made from tokens.
    Raises ScopeInvalid, ValueInvalid, PermissionDenied, UserNotFound.
    """
    if principal.user is None or principal.scopes is not None:
        raise errors.PermissionDenied("sign in with a password to create tokens")
    with uow:
        user = uow.users.get(username) if username else principal.user
        if user.id != principal.user.id and not principal.is_admin:
            raise errors.PermissionDenied()
        if user.is_robot:
            raise errors.ValueInvalid("user", "use create_robot_token for robots")
        return _issue(uow, user, name, scopes, expires_in_days, principal)


def create_robot(
    uow: UnitOfWork,
    principal: Principal,
    namespace: str,
    short_name: str,
    scopes,
    *,
    expires_in_days: int | None = None,
) -> tuple[User, str]:
    """Create robot ``namespace+short_name`` with a first token; return (robot, token string).

    Needs ownership of ``namespace``. Raises NameInvalid, UsernameTaken, ScopeInvalid,
    NamespaceNotFound, PermissionDenied.
    """
    username = robot_username(namespace, short_name)
    if principal.scopes is not None:
        raise errors.PermissionDenied("sign in with a password to create robots")
    with uow:
        owner = uow.namespaces.get(namespace)
        if not policy.may_administer_namespace(principal, owner):
            raise errors.PermissionDenied(f"only owners of {namespace} may create robots")
        parse_scopes(scopes)
        robot = uow.users.create_robot(username, owner.id)
        if robot is None:
            raise errors.UsernameTaken(username)
        audit.record(uow, principal, "robot.create", "user", username, namespace_id=owner.id)
        _, token = _issue(uow, robot, "robot token", scopes, expires_in_days, principal)
        return robot, token


def create_robot_token(
    uow: UnitOfWork,
    principal: Principal,
    robot: str,
    name: str,
    scopes,
    *,
    expires_in_days: int | None = None,
) -> tuple[AccessToken, str]:
    """Add another token to a robot (owners of the robot's namespace)."""
    with uow:
        user = uow.users.get(robot)
        if not user.is_robot:
            raise errors.UserNotFound(robot)
        owner = uow.namespaces.by_id(user.robot_owner_id)
        if not policy.may_administer_namespace(principal, owner):
            raise errors.PermissionDenied()
        return _issue(uow, user, name, scopes, expires_in_days, principal)


def list_robots(uow: UnitOfWork, principal: Principal, namespace: str) -> list[User]:
    with uow:
        owner = uow.namespaces.get(namespace)
        if not policy.may_administer_namespace(principal, owner):
            raise errors.PermissionDenied()
        return uow.users.robots_of(owner.id)


def delete_robot(uow: UnitOfWork, principal: Principal, robot: str) -> None:
    """Delete robot ``robot`` with its tokens (owners of its namespace, administrators).

    Tokens cannot delete robots. UserNotFound for anything but a robot the caller manages.
    """
    if principal.scopes is not None:
        raise errors.PermissionDenied("sign in with a password to delete robots")
    with uow:
        user = uow.users.get(robot)
        if not user.is_robot:
            raise errors.UserNotFound(robot)
        owner = uow.namespaces.by_id(user.robot_owner_id)
        if not policy.may_administer_namespace(principal, owner):
            raise errors.UserNotFound(robot)
        audit.record(uow, principal, "robot.delete", "user", robot, namespace_id=owner.id)
        uow.users.delete(user.id)


def list_tokens(
    uow: UnitOfWork, principal: Principal, username: str | None = None
) -> list[AccessToken]:
    """Tokens of the principal, of ``username`` (admins), or of a robot they own."""
    with uow:
        user = _token_owner(uow, principal, username)
        return uow.access_tokens.list_for_user(user.id)


def revoke_token(uow: UnitOfWork, principal: Principal, token_id: int) -> None:
    """Revoke a token (its owner, the robot's namespace owners, admins); idempotent.

    Registry tokens already issued through it are revoked too. AccessTokenNotFound for
    tokens the principal may not manage.
    """
    with uow:
        token = uow.access_tokens.get(token_id)
        try:
            user = _token_owner(uow, principal, uow.users.by_id(token.user_id).username)
        except errors.PermissionDenied:
            raise errors.AccessTokenNotFound(token_id) from None
        uow.access_tokens.revoke(token.id)
        audit.record(
            uow, principal, "token.revoke", "user", user.username, detail={"token": token.public_id}
        )


def _token_owner(uow: UnitOfWork, principal: Principal, username: str | None) -> User:
    if principal.user is None:
        raise errors.PermissionDenied()
    user = uow.users.get(username) if username else principal.user
    if user.id == principal.user.id or principal.is_admin:
        return user
    if user.is_robot and policy.may_administer_namespace(
        principal, uow.namespaces.by_id(user.robot_owner_id)
    ):
        return user
    raise errors.PermissionDenied()


def authenticate_token(
    uow: UnitOfWork, token: str, *, username: str | None = None, actor: Principal = SYSTEM
) -> Principal:
    """Return the scoped Principal of an access token string; record its use.

    ``username`` (the Basic user name) must be the token owner's when given (Docker always
    sends one). Raises AuthenticationFailed for malformed, unknown, wrong, revoked or
    expired tokens and for disabled owners.
    """
    parsed = credentials.parse_access_token(token)
    if parsed is None:
        raise errors.AuthenticationFailed("invalid access token")
    public_id, secret = parsed
    with uow:
        found = uow.access_tokens.with_hash(public_id)
        purpose = credentials.PURPOSE_ACCESS_TOKEN
        if found is None or not credentials.matches(purpose, secret, found[1]):
            raise errors.AuthenticationFailed("invalid access token")
        record = found[0]
        user = uow.users.by_id(record.user_id)
        if username and username != user.username or user.disabled:
            raise errors.AuthenticationFailed("invalid access token")
        if not record.is_active(uow.access_tokens.now()):
            raise errors.AuthenticationFailed("access token revoked or expired")
        uow.access_tokens.touch(record.id)
    return principal_for(uow, user, scopes=record.scopes, access_token_id=record.id)
