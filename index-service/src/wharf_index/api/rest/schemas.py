"""marshmallow schemas of the ``/api/v1`` bodies: requests (``*In``) and responses.

Requests are loaded strictly (unknown fields are errors, marshmallow's RAISE); responses are
dumped from domain objects or dicts. DateTime fields dump ISO 8601 with an offset, which is
RFC 3339. openapi.py turns these classes into the OpenAPI document's components.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ...domain.model import REGISTRY_KINDS, ROLES, VISIBILITIES

ACTIONS = ("pull", "push", "delete", "*", "admin")  # "*": the three registry actions only


def _text(max_length: int, *, required: bool = True, min_length: int = 1, **kw):
    return fields.String(required=required, validate=validate.Length(min_length, max_length), **kw)


# -- accounts -------------------------------------------------------------------------------


class UserSchema(Schema):
    username = fields.String()
    is_admin = fields.Boolean()
    is_robot = fields.Boolean()
    disabled = fields.Boolean()
    created_at = fields.DateTime(allow_none=True)


class UserPrivateSchema(UserSchema):
    """A user as they (and administrators) see themselves: with the email address."""

    email = fields.String(allow_none=True)


class LoginIn(Schema):
    username = _text(130)
    password = _text(1024)


class SessionSchema(Schema):
    user = fields.Nested(UserPrivateSchema)
    csrf_token = fields.String()


class UserCreateIn(Schema):
    username = _text(64)
    email = _text(254)
    password = _text(1024)
    admin = fields.Boolean(load_default=False)


class UserUpdateIn(Schema):
    admin = fields.Boolean()
    disabled = fields.Boolean()


class PasswordIn(Schema):
    password = _text(1024)
    old_password = _text(1024, required=False)


# -- organisations ---------------------------------------------------------------------------


class OrgSchema(Schema):
    name = fields.String()
    created_at = fields.DateTime(allow_none=True)


class OrgCreateIn(Schema):
    name = _text(64)
    email = _text(254, required=False, allow_none=True)
    owner = _text(130, required=False)


class MemberSchema(Schema):
    username = fields.String()
    is_owner = fields.Boolean()


class MemberIn(Schema):
    owner = fields.Boolean(load_default=False)


class TeamSchema(Schema):
    name = fields.String()
    role = fields.String()
    all_repositories = fields.Boolean()
    description = fields.String()


class TeamCreateIn(Schema):
    name = _text(64)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    all_repositories = fields.Boolean(load_default=False)
    description = _text(1000, required=False, min_length=0, load_default="")


class TeamUpdateIn(Schema):
    role = fields.String(validate=validate.OneOf(ROLES))
    all_repositories = fields.Boolean()


class NameSchema(Schema):
    """An item of a list of names (team members, team repositories)."""

    name = fields.String()


# -- repositories ----------------------------------------------------------------------------


class PermissionsSchema(Schema):
    pull = fields.Boolean()
    push = fields.Boolean()
    delete = fields.Boolean()
    admin = fields.Boolean()


class RepositorySchema(Schema):
    full_name = fields.String()
    namespace = fields.String()
    name = fields.String()
    visibility = fields.String()
    description = fields.String()
    status = fields.String(metadata={"description": "active; deleting once deletion began;"
                                              " deleted in the answer of a finished DELETE"})
    push_count = fields.Integer()
    pull_count = fields.Integer()
    star_count = fields.Integer()
    created_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


class RepositoryDetailSchema(RepositorySchema):
    starred = fields.Boolean(metadata={"description": "starred by the caller"})
    permissions = fields.Nested(PermissionsSchema)


class SearchResultSchema(RepositorySchema):
    rank = fields.Float(metadata={"description": "relevance; higher is better"})


class RepositoryCreateIn(Schema):
    name = _text(255, metadata={"description": "full name, namespace/name"})
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES), allow_none=True)
    description = _text(4000, required=False, min_length=0, load_default="")


class RepositoryUpdateIn(Schema):
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    description = _text(4000, required=False, min_length=0)


class NamespaceSchema(Schema):
    name = fields.String()
    default_visibility = fields.String()


class NamespaceUpdateIn(Schema):
    default_visibility = fields.String(required=True, validate=validate.OneOf(VISIBILITIES))


class CollaboratorSchema(Schema):
    username = fields.String()
    role = fields.String()


class CollaboratorIn(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


# -- tags, stars, comments -------------------------------------------------------------------


class LayerSchema(Schema):
    digest = fields.String()
    size = fields.Integer()
    media_type = fields.String()


class TagSchema(Schema):
    name = fields.String()
    digest = fields.String()
    media_type = fields.String()
    size = fields.Integer(metadata={"description": "manifest size in bytes"})
    layers_size = fields.Integer(metadata={"description": "sum of the layers' sizes"})
    config_digest = fields.String(allow_none=True)
    pushed_by = fields.String()
    pushed_at = fields.DateTime()
    pull_count = fields.Integer()
    last_pulled_at = fields.DateTime(allow_none=True)


class TagDetailSchema(TagSchema):
    layers = fields.List(fields.Nested(LayerSchema))


class StarsSchema(Schema):
    repository = fields.String()
    star_count = fields.Integer()
    starred = fields.Boolean(metadata={"description": "starred by the caller"})


class CommentSchema(Schema):
    id = fields.Integer()
    author = fields.String(allow_none=True)
    body = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CommentIn(Schema):
    body = _text(10000)


# -- tokens, robots, registries, audit -------------------------------------------------------


class TokenScopeSchema(Schema):
    repository = _text(260, metadata={"description": "full name, 'ns/*' or '*'"})
    actions = fields.List(
        fields.String(validate=validate.OneOf(ACTIONS)), required=True,
        validate=validate.Length(1, len(ACTIONS)),
        metadata={"description": "pull, push, delete ('*': all three) and/or admin"
                                 " (repository administration; never implied by '*')"},
    )  # fmt: skip


class AccessTokenSchema(Schema):
    id = fields.Integer()
    public_id = fields.String()
    name = fields.String()
    scopes = fields.List(fields.Nested(TokenScopeSchema))
    created_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)


class TokenCreateIn(Schema):
    name = _text(100)
    scopes = fields.List(fields.Nested(TokenScopeSchema), required=True,
                         validate=validate.Length(1, 100))  # fmt: skip
    expires_in_days = fields.Integer(allow_none=True, load_default=None,
                                     validate=validate.Range(1, 3650))  # fmt: skip


class TokenCreatedSchema(Schema):
    token = fields.Nested(AccessTokenSchema)
    secret = fields.String(metadata={"description": "the token string; shown only once"})


class RobotCreateIn(TokenCreateIn):
    name = _text(64, metadata={"description": "short name; the robot is <namespace>+<name>"})


class RobotCreatedSchema(Schema):
    robot = fields.Nested(UserSchema)
    secret = fields.String(metadata={"description": "the robot's token; shown only once"})


class RegistrySchema(Schema):
    name = fields.String()
    url = fields.String()
    kind = fields.String()
    namespaces = fields.List(fields.String())
    created_at = fields.DateTime(allow_none=True)


class RegistryCreateIn(Schema):
    name = _text(253)
    url = _text(2048)
    kind = fields.String(required=True, validate=validate.OneOf(REGISTRY_KINDS))
    namespaces = fields.List(_text(64), load_default=list, validate=validate.Length(0, 1000))


class RegistryCreatedSchema(Schema):
    registry = fields.Nested(RegistrySchema)
    credential = fields.String(metadata={"description": "shown only once"})


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String(attribute="actor_name")
    action = fields.String()
    target_type = fields.String()
    target = fields.String()
    detail = fields.Dict()
