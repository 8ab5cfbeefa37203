"""marshmallow schemas of the ``/api/v1`` bodies: requests (``*In``) and responses.

Requests are loaded strictly (unknown fields are errors, marshmallow's RAISE; JSON types
exactly: rules.py) and checked against the same rules the services apply (names, emails,
passwords, scopes, lengths), so the OpenAPI document, generated from these classes, says
exactly what is accepted. Responses are dumped from domain objects or dicts. DateTime
fields dump ISO 8601 with an offset, which is RFC 3339. openapi.py turns these classes into
the OpenAPI document's components.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from wharf_protocol.names import MAX_NAME_LENGTH, REPOSITORY_NAME_RE
from wharf_protocol.sizes import MAX_BYTES

from ...domain.model import (
    CATALOG_AUTO,
    CATALOG_MODES,
    DEFAULT_WEIGHT,
    HOLDER,
    MAX_WEIGHT,
    MIN_WEIGHT,
    MIRROR,
    REGISTRY_KINDS,
    ROLES,
    VISIBILITIES,
)
from ...domain.names import (
    MAX_NAMESPACE_LENGTH,
    MAX_USERNAME,
    NAMESPACE_RE,
    RESERVED,
    ROBOT_SHORT_RE,
)
from ...services.access_tokens import MAX_TOKEN_DAYS
from ...services.accounts import EMAIL_RE
from ...services.comments import MAX_BODY
from ...services.invitations import DEFAULT_DAYS as DEFAULT_INVITATION_DAYS
from ...services.invitations import MAX_DAYS as MAX_INVITATION_DAYS
from ...services.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from ...services.registries import (
    MAX_REGISTRY_NAME,
    MAX_REGISTRY_URL,
    REGISTRY_NAME_RE,
    REGISTRY_URL_RE,
)
from ...services.repositories import MAX_DESCRIPTION, MAX_README
from ...services.routes import MAX_ROUTE
from .rules import NotBlank, NotOneOf, Pattern, StrictBoolean, StrictInteger, text

ACTIONS = ("pull", "push", "delete", "*", "admin")  # "*": the three registry actions only
MAX_LOGIN_NAME = MAX_USERNAME  # a user's or robot's (``ns+short``) name
MAX_EMAIL = 254
#: A user's or organisation's name (domain/names.py; ``library`` and ``admin``: admins only).
NAMESPACE_NAME = Pattern(NAMESPACE_RE, "lowercase letters, digits and . _ __ - separators")
NOT_RESERVED = NotOneOf(RESERVED)
REPOSITORY_NAME = Pattern(
    f"{REPOSITORY_NAME_RE.pattern}/{REPOSITORY_NAME_RE.pattern}",
    "namespace/name, lowercase path components",
)
#: A token scope's repository: a full name, ``ns/*`` (everything under ns/) or ``*``.
SCOPE_PATTERN = Pattern(
    f"\\*|{REPOSITORY_NAME_RE.pattern}(?:/\\*)?", "a repository name, namespace/* or *"
)
EMAIL = Pattern(EMAIL_RE, "a valid email address is required")


def _text(max_length: int, *, required: bool = True, min_length: int = 1, **kw):
    return text(max_length, required=required, min_length=min_length, **kw)


def _name(max_length: int = MAX_NAMESPACE_LENGTH, *rules, **kw):
    return text(max_length, rules=rules, **kw)


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
    username = _text(MAX_LOGIN_NAME)
    password = _text(MAX_PASSWORD_LENGTH)


class SessionSchema(Schema):
    user = fields.Nested(UserPrivateSchema)
    csrf_token = fields.String()


class UserCreateIn(Schema):
    username = _name(MAX_NAMESPACE_LENGTH, NAMESPACE_NAME, NOT_RESERVED)
    email = _name(MAX_EMAIL, EMAIL)
    password = _text(MAX_PASSWORD_LENGTH, min_length=MIN_PASSWORD_LENGTH)
    admin = StrictBoolean(load_default=False)


class ProfileUpdateIn(Schema):
    """The signed-in user's own profile: the email address, confirmed by the password."""

    email = _name(MAX_EMAIL, EMAIL, metadata={"description": "the new email address"})
    password = _text(MAX_PASSWORD_LENGTH, metadata={"description": "the current password"})


class UserUpdateIn(Schema):
    admin = StrictBoolean()
    disabled = StrictBoolean()


class PasswordIn(Schema):
    password = _text(MAX_PASSWORD_LENGTH, min_length=MIN_PASSWORD_LENGTH)
    old_password = _text(
        MAX_PASSWORD_LENGTH,
        required=False,
        metadata={"description": "the current password: required unless an administrator sets it"},
    )


# -- organisations ---------------------------------------------------------------------------


class OrgSchema(Schema):
    name = fields.String()
    created_at = fields.DateTime(allow_none=True)


class OrgCreateIn(Schema):
    name = _name(MAX_NAMESPACE_LENGTH, NAMESPACE_NAME, NOT_RESERVED)
    email = _name(MAX_EMAIL, EMAIL, required=False, allow_none=True)
    owner = _name(
        MAX_NAMESPACE_LENGTH,
        NAMESPACE_NAME,
        required=False,
        metadata={"description": "the owning user (administrators only; default: the caller)"},
    )


class MemberSchema(Schema):
    username = fields.String()
    is_owner = fields.Boolean()


class MemberIn(Schema):
    owner = StrictBoolean(load_default=False)


class TeamSchema(Schema):
    name = fields.String()
    role = fields.String()
    all_repositories = fields.Boolean()
    description = fields.String()


class TeamCreateIn(Schema):
    name = _name(MAX_NAMESPACE_LENGTH, Pattern(NAMESPACE_RE, "invalid team name"))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    all_repositories = StrictBoolean(load_default=False)
    description = _text(1000, required=False, min_length=0, load_default="")


class TeamUpdateIn(Schema):
    role = fields.String(validate=validate.OneOf(ROLES))
    all_repositories = StrictBoolean()


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
    status = fields.String(
        metadata={
            "description": "active; deleting once deletion began;"
            " deleted in the answer of a finished DELETE"
        }
    )
    push_count = fields.Integer()
    pull_count = fields.Integer()
    star_count = fields.Integer()
    created_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


class PlacementSchema(Schema):
    """A registry named for a repository (services/chaining.py)."""

    name = fields.String(attribute="registry.name")
    url = fields.String(attribute="registry.url")
    kind = fields.String(attribute="registry.kind")
    weight = fields.Integer(attribute="registry.weight")
    role = fields.String(
        metadata={
            "description": f"{HOLDER}: holds it (or would take its first push);"
            f" {MIRROR}: mirrors a registry that does",
        }
    )


class RepositoryDetailSchema(RepositorySchema):
    starred = fields.Boolean(metadata={"description": "starred by the caller"})
    permissions = fields.Nested(PermissionsSchema)
    readme = fields.String(
        metadata={"description": "the full description (Markdown); lists and search omit it"}
    )
    registries = fields.List(
        fields.Nested(PlacementSchema),
        metadata={
            "description": "its holders and mirrors in the weighted rotation (the first is"
            " where to pull from this time)"
        },
    )


class SearchResultSchema(RepositorySchema):
    rank = fields.Float(metadata={"description": "relevance; higher is better"})


class RepositoryCreateIn(Schema):
    name = _name(
        MAX_NAME_LENGTH, REPOSITORY_NAME, metadata={"description": "full name, namespace/name"}
    )
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES), allow_none=True)
    description = _text(MAX_DESCRIPTION, required=False, min_length=0, load_default="")


class RepositoryUpdateIn(Schema):
    """Give visibility, description and/or readme."""

    json_schema = {"minProperties": 1}
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    description = _text(MAX_DESCRIPTION, required=False, min_length=0)
    readme = _text(
        MAX_README,
        required=False,
        min_length=0,
        metadata={"description": "the full description (Markdown) the repository page shows"},
    )

    @validates_schema
    def _not_empty(self, data, **kwargs) -> None:
        if not data:
            raise ValidationError("give visibility, description and/or readme", "_schema")


class NamespaceSchema(Schema):
    name = fields.String()
    default_visibility = fields.String()


class NamespaceUpdateIn(Schema):
    default_visibility = fields.String(required=True, validate=validate.OneOf(VISIBILITIES))


class QuotaIn(Schema):
    limit = StrictInteger(
        required=True,
        allow_none=True,
        validate=validate.Range(0, MAX_BYTES),
        metadata={"description": "bytes; null: no quota, whatever the default"},
    )


class QuotaSchema(Schema):
    limit = fields.Integer(allow_none=True, metadata={"description": "bytes; null: no quota"})
    used = fields.Integer(
        metadata={
            "description": "bytes of the distinct blobs the namespace's recorded manifests"
            " reference (each digest once)"
        }
    )
    default = fields.Boolean(
        metadata={"description": "the limit is the Index's default (none chosen for it)"}
    )


class OrgDetailSchema(OrgSchema):
    quota = fields.Nested(
        QuotaSchema,
        allow_none=True,
        metadata={
            "description": "its storage quota and use (owners and administrators; else null)"
        },
    )


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


class PlatformSchema(Schema):
    os = fields.String()
    architecture = fields.String()
    variant = fields.String(metadata={"description": "empty when the platform has none"})


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
    platforms = fields.List(
        fields.Nested(PlatformSchema),
        allow_none=True,
        metadata={"description": "the platforms it runs on (an index's); null: not known"},
    )


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
    body = _text(MAX_BODY, rules=(NotBlank(),))


# -- tokens, robots, registries, audit -------------------------------------------------------


class TokenScopeSchema(Schema):
    repository = _name(
        MAX_NAME_LENGTH, SCOPE_PATTERN, metadata={"description": "full name, 'ns/*' or '*'"}
    )
    actions = fields.List(
        fields.String(validate=validate.OneOf(ACTIONS)),
        required=True,
        validate=validate.Length(1, len(ACTIONS)),
        metadata={
            "description": "pull, push, delete ('*': all three) and/or admin"
            " (repository administration; never implied by '*')"
        },
    )


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
    name = _text(100, rules=(NotBlank(),))
    scopes = fields.List(
        fields.Nested(TokenScopeSchema), required=True, validate=validate.Length(1, 100)
    )
    expires_in_days = StrictInteger(
        allow_none=True, load_default=None, validate=validate.Range(1, MAX_TOKEN_DAYS)
    )


class TokenCreatedSchema(Schema):
    token = fields.Nested(AccessTokenSchema)
    secret = fields.String(metadata={"description": "the token string; shown only once"})


class RobotCreateIn(TokenCreateIn):
    name = _name(
        MAX_NAMESPACE_LENGTH,
        Pattern(ROBOT_SHORT_RE, "lowercase letters, digits, _"),
        metadata={"description": "short name; the robot is <namespace>+<name>"},
    )


class RobotCreatedSchema(Schema):
    robot = fields.Nested(UserSchema)
    secret = fields.String(metadata={"description": "the robot's token; shown only once"})


_CATALOG_DOC = (
    "whether its /v2/_catalog lists each caller only what it may pull (then every caller"
    " gets registry:catalog:*, else only administrators): auto (once it called the Index's"
    " token verification or catalog question, as Wharf's registry does), filtered, unfiltered"
)


_WEIGHT_DOC = (
    f"share of first places in the rotation, {MIN_WEIGHT}..{MAX_WEIGHT}; 0: listed, never first"
)
_UPSTREAM_DOC = "the registry it mirrors (kind mirror only); null: none"
_WEIGHT = {
    "validate": validate.Range(MIN_WEIGHT, MAX_WEIGHT),
    "metadata": {"description": _WEIGHT_DOC},
}
_UPSTREAM = {"allow_none": True, "metadata": {"description": _UPSTREAM_DOC}}


class RegistrySchema(Schema):
    name = fields.String()
    url = fields.String()
    kind = fields.String()
    namespaces = fields.List(fields.String())
    created_at = fields.DateTime(allow_none=True)
    catalog = fields.String(metadata={"description": _CATALOG_DOC})
    catalog_filtered = fields.Boolean(
        attribute="filters_catalog", metadata={"description": "what catalog makes of it now"}
    )
    weight = fields.Integer(metadata={"description": _WEIGHT_DOC})
    upstream = fields.String(allow_none=True, metadata={"description": _UPSTREAM_DOC})


class RegistryCreateIn(Schema):
    """A mirror or vendor serves only its namespaces: it needs at least one."""

    json_schema = {
        "if": {"properties": {"kind": {"enum": ["mirror", "vendor"]}}, "required": ["kind"]},
        "then": {"properties": {"namespaces": {"minItems": 1}}, "required": ["namespaces"]},
    }
    name = _name(MAX_REGISTRY_NAME, Pattern(REGISTRY_NAME_RE, "a lowercase host-like name"))
    url = _name(MAX_REGISTRY_URL, Pattern(REGISTRY_URL_RE, "an http:// or https:// URL"))
    kind = fields.String(required=True, validate=validate.OneOf(REGISTRY_KINDS))
    namespaces = fields.List(
        _name(MAX_NAMESPACE_LENGTH, NAMESPACE_NAME),
        load_default=list,
        validate=validate.Length(0, 1000),
    )
    catalog = fields.String(
        load_default=CATALOG_AUTO,
        validate=validate.OneOf(CATALOG_MODES),
        metadata={"description": _CATALOG_DOC},
    )
    weight = StrictInteger(load_default=DEFAULT_WEIGHT, **_WEIGHT)
    upstream = _name(MAX_REGISTRY_NAME, required=False, load_default=None, **_UPSTREAM)

    @validates_schema
    def _namespaces_of_kind(self, data, **kwargs) -> None:
        if data.get("kind") in ("mirror", "vendor") and not data.get("namespaces"):
            message = f"a {data['kind']} registry serves only its namespaces: name at least one"
            raise ValidationError(message, "namespaces")


class RegistryUpdateIn(Schema):
    """Give kind, catalog, weight and/or upstream."""

    json_schema = {"minProperties": 1}
    catalog = fields.String(
        validate=validate.OneOf(CATALOG_MODES),
        metadata={"description": _CATALOG_DOC},
    )
    kind = fields.String(
        validate=validate.OneOf(REGISTRY_KINDS),
        metadata={"description": "who may pull and push there (README, 'Registry kinds')"},
    )
    weight = StrictInteger(**_WEIGHT)
    upstream = _name(MAX_REGISTRY_NAME, required=False, **_UPSTREAM)

    @validates_schema
    def _not_empty(self, data, **kwargs) -> None:
        if not data:
            raise ValidationError("give kind, catalog, weight and/or upstream", "_schema")


class RouteSchema(Schema):
    namespace = fields.String()
    registries = fields.List(
        fields.String(), metadata={"description": "where its pushes go, first first"}
    )


class RouteIn(Schema):
    registries = fields.List(
        _name(MAX_REGISTRY_NAME, Pattern(REGISTRY_NAME_RE, "a lowercase host-like name")),
        required=True,
        validate=validate.Length(0, MAX_ROUTE),
        metadata={"description": "registries serving the namespace, no mirror; []: no route"},
    )


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


class InvitationSchema(Schema):
    id = fields.Integer()
    email = fields.String(allow_none=True, metadata={"description": "the address it is for"})
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    used_at = fields.DateTime(allow_none=True)
    used_by = fields.String(allow_none=True, metadata={"description": "the account it made"})


class InvitationCreateIn(Schema):
    email = _name(MAX_EMAIL, EMAIL, required=False, load_default=None, allow_none=True)
    expires_in_days = StrictInteger(
        load_default=DEFAULT_INVITATION_DAYS, validate=validate.Range(1, MAX_INVITATION_DAYS)
    )


class InvitationCreatedSchema(Schema):
    invitation = fields.Nested(InvitationSchema)
    token = fields.String(metadata={"description": "the invitation's token; shown only once"})
    link = fields.String(metadata={"description": "the sign-up link: /signup?invite=<token>"})
