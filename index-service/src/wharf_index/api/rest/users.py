"""Users: the signed-in user, the user directory (administrators), accounts, passwords."""

from __future__ import annotations

from ...context import uow
from ...domain import errors
from ...domain.model import Principal, User
from ...services import accounts
from ...services.paging import take
from ..docker_auth import client_address
from . import bp
from .auth import (
    end_session,
    principal,
    renew_session,
    require_account,
    require_admin,
    require_user,
)
from .inputs import Param, flag, load
from .openapi import doc
from .pagination import page_body, page_request
from .schemas import (
    PasswordIn,
    ProfileUpdateIn,
    UserCreateIn,
    UserPrivateSchema,
    UserSchema,
    UserUpdateIn,
)

ROBOTS = Param("robots", boolean=True, description="include robots")


def _is_self(caller: Principal, user: User) -> bool:
    return caller.user is not None and caller.user.id == user.id


def dump_user(caller: Principal, user: User) -> dict:
    """The email address only for the user themself and administrators."""
    private = caller.is_admin or _is_self(caller, user)
    return (UserPrivateSchema() if private else UserSchema()).dump(user)


@bp.get("/user")
@doc(auth="user", response=UserPrivateSchema)
def get_current_user():
    """Return the signed-in user."""
    return UserPrivateSchema().dump(require_user().user)


@bp.patch("/user")
@doc(auth="account", body=ProfileUpdateIn, response=UserPrivateSchema, errors=(409,))
def update_current_user():
    """Change one's own email address, confirmed by the current password (checked and
    throttled like a login); the address may belong to one user only (409 otherwise)."""
    caller = require_account()
    data = load(ProfileUpdateIn)
    user = accounts.change_email(
        uow(), caller.user.username, data["password"], data["email"], address=client_address()
    )
    return UserPrivateSchema().dump(user)


@bp.get("/users")
@doc(auth="admin", response=UserPrivateSchema, paginated=True, query=(ROBOTS,))
def list_users():
    """List users by name (administrators; ``robots=true`` includes robots)."""
    require_admin()
    wanted = page_request("users", (str,))
    rows = accounts.list_users(
        uow(),
        after=wanted.after[0] if wanted.after else None,
        limit=wanted.limit + 1,
        robots=flag(ROBOTS),
    )
    page = take(rows, wanted.limit, lambda u: (u.username,))
    return page_body("users", page, UserPrivateSchema(many=True).dump(page.items))


@bp.post("/users")
@doc(
    auth="admin",
    body=UserCreateIn,
    response=UserPrivateSchema,
    status=201,
    errors=(409,),
    links={"username": "username"},
)
def create_user():
    """Create a user (administrators)."""
    caller = require_admin()
    data = load(UserCreateIn)
    user = accounts.create_user(
        uow(), data["username"], data["email"], data["password"], admin=data["admin"], actor=caller
    )
    return UserPrivateSchema().dump(user), 201


@bp.get("/users/<username>")
@doc(auth="optional", response=(UserPrivateSchema, UserSchema))
def get_user(username: str):
    """Return a user's public profile (with the email for themself and administrators).

    Robots are shown to administrators only; for others they do not exist.
    """
    caller = principal()
    user = accounts.get_user(uow(), username)
    if user.is_robot and not caller.is_admin:
        raise errors.UserNotFound(username)
    return dump_user(caller, user)


@bp.patch("/users/<username>")
@doc(auth="admin", body=UserUpdateIn, response=UserPrivateSchema, errors=(409,))
def update_user(username: str):
    """Grant or revoke administrator rights, disable or enable (administrators)."""
    caller = require_admin()
    data = load(UserUpdateIn)
    if "admin" in data:
        accounts.set_admin(uow(), username, data["admin"], actor=caller)
    if "disabled" in data:
        accounts.set_disabled(uow(), username, data["disabled"], actor=caller)
    return UserPrivateSchema().dump(accounts.get_user(uow(), username))


@bp.put("/users/<username>/password")
@doc(auth="account", body=PasswordIn, status=204, errors=(409,))
def set_password(username: str):
    """Change a password: one's own (``old_password`` required) or anyone's (admins).

    Every session and refresh token of that user ends; the caller's own session, when it
    changed its own password, is renewed."""
    caller = require_account()
    data = load(PasswordIn)
    if caller.is_admin:
        accounts.set_password(uow(), username, data["password"], actor=caller)
    elif caller.user.username != username:
        raise errors.PermissionDenied()
    elif "old_password" not in data:
        raise errors.ValueInvalid("old_password", "the current password is required")
    else:
        accounts.change_password(
            uow(), username, data["old_password"], data["password"], address=client_address()
        )
    renew_session(accounts.get_user(uow(), username))  # only this request's own session
    return "", 204


@bp.delete("/users/<username>")
@doc(auth="account", status=204, errors=(409,))
def delete_user(username: str):
    """Delete an account with its namespace and repositories (oneself or admins)."""
    caller = require_account()
    accounts.delete_user(uow(), username, actor=caller)
    if caller.user.username == username:
        end_session()
    return "", 204
