"""Personal access tokens and robot accounts. A token's secret is in the creation answer
only (``secret``); afterwards only its public id, name, scopes and times are shown.

Managing tokens needs a password login or a session: access tokens cannot mint, list or
revoke tokens.
"""

from __future__ import annotations

from ...context import uow
from ...services import access_tokens
from . import bp
from .auth import require_account
from .inputs import Param, load, query
from .openapi import doc
from .pagination import paged_list
from .schemas import (
    MAX_LOGIN_NAME,
    AccessTokenSchema,
    RobotCreatedSchema,
    RobotCreateIn,
    TokenCreatedSchema,
    TokenCreateIn,
    UserSchema,
)

USER = Param("user", MAX_LOGIN_NAME, description="whose tokens (administrators only)")


def _token_list(found) -> dict:
    return paged_list("tokens", (int,), found, lambda t: (t.id,), AccessTokenSchema(many=True).dump)


@bp.get("/tokens")
@doc(auth="account", response=AccessTokenSchema, paginated=True, query=(USER,), errors=(404,))
def list_tokens():
    """List the caller's access tokens (administrators: anyone's with ``user=``)."""
    username = query(USER)
    return _token_list(access_tokens.list_tokens(uow(), require_account(), username))


@bp.post("/tokens")
@doc(
    auth="account",
    body=TokenCreateIn,
    response=TokenCreatedSchema,
    status=201,
    links={"token_id": "token/id"},
)
def create_token():
    """Create a personal access token; the answer holds its secret, shown only once."""
    caller = require_account()
    data = load(TokenCreateIn)
    token, secret = access_tokens.create_access_token(
        uow(), caller, data["name"], data["scopes"], expires_in_days=data["expires_in_days"]
    )
    return TokenCreatedSchema().dump({"token": token, "secret": secret}), 201


@bp.delete("/tokens/<api_id:token_id>")
@doc(auth="account", status=204)
def revoke_token(token_id: int):
    """Revoke a token (its owner, the robot's namespace owners, administrators)."""
    access_tokens.revoke_token(uow(), require_account(), token_id)
    return "", 204


@bp.get("/namespaces/<namespace>/robots")
@doc(auth="account", response=UserSchema, paginated=True)
def list_robots(namespace: str):
    """List a namespace's robots (its owners)."""
    found = access_tokens.list_robots(uow(), require_account(), namespace)
    return paged_list("robots", (str,), found, lambda u: (u.username,), UserSchema(many=True).dump)


@bp.post("/namespaces/<namespace>/robots")
@doc(auth="account", body=RobotCreateIn, response=RobotCreatedSchema, status=201, errors=(409,))
def create_robot(namespace: str):
    """Create robot ``<namespace>+<name>`` with a first token (secret shown once)."""
    caller = require_account()
    data = load(RobotCreateIn)
    robot, secret = access_tokens.create_robot(
        uow(),
        caller,
        namespace,
        data["name"],
        data["scopes"],
        expires_in_days=data["expires_in_days"],
    )
    return RobotCreatedSchema().dump({"robot": robot, "secret": secret}), 201


@bp.get("/robots/<robot>/tokens")
@doc(auth="account", response=AccessTokenSchema, paginated=True)
def list_robot_tokens(robot: str):
    """List a robot's tokens (owners of its namespace)."""
    return _token_list(access_tokens.list_tokens(uow(), require_account(), robot))


@bp.post("/robots/<robot>/tokens")
@doc(auth="account", body=TokenCreateIn, response=TokenCreatedSchema, status=201)
def create_robot_token(robot: str):
    """Add a token to a robot (owners of its namespace); the secret is shown once."""
    caller = require_account()
    data = load(TokenCreateIn)
    token, secret = access_tokens.create_robot_token(
        uow(),
        caller,
        robot,
        data["name"],
        data["scopes"],
        expires_in_days=data["expires_in_days"],
    )
    return TokenCreatedSchema().dump({"token": token, "secret": secret}), 201
