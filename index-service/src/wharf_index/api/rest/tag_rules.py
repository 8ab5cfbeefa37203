"""A repository's tag rules: immutable tag patterns and retention (repository admins, as
every setting; outsiders of a private repository get 404). How retention's rules combine:
services/retention.py; where immutability is enforced: services/tag_rules.py."""

from __future__ import annotations

from ...context import uow
from ...services import retention, tag_rules
from . import bp
from .auth import require_user
from .inputs import load
from .openapi import doc
from .tag_rule_schemas import (
    ImmutableTagsIn,
    ImmutableTagsSchema,
    RetentionIn,
    RetentionPreviewSchema,
    RetentionSchema,
)


@bp.get("/repositories/<api_repo:name>/-/immutable-tags")
@doc(auth="user", response=ImmutableTagsSchema)
def get_immutable_tags(name: str):
    """Return the repository's immutable tag patterns (repository admins)."""
    return ImmutableTagsSchema().dump(tag_rules.get_rules(uow(), require_user(), name))


@bp.put("/repositories/<api_repo:name>/-/immutable-tags")
@doc(auth="user", body=ImmutableTagsIn, response=ImmutableTagsSchema)
def put_immutable_tags(name: str):
    """Replace the repository's immutable tag patterns (repository admins; an empty list
    makes every tag mutable again). Registries apply a change with the next token a
    client gets: at most one token lifetime later."""
    data = load(ImmutableTagsIn)
    rules = tag_rules.set_immutable(uow(), require_user(), name, data["patterns"])
    return ImmutableTagsSchema().dump(rules)


@bp.get("/repositories/<api_repo:name>/-/retention")
@doc(auth="user", response=RetentionSchema)
def get_retention(name: str):
    """Return the repository's retention rules (repository admins)."""
    return RetentionSchema().dump(tag_rules.get_rules(uow(), require_user(), name))


@bp.put("/repositories/<api_repo:name>/-/retention")
@doc(auth="user", body=RetentionIn, response=RetentionSchema)
def put_retention(name: str):
    """Replace the repository's retention rules (repository admins; ``keep_newest`` and
    ``max_age_days`` both null turn retention off)."""
    data = load(RetentionIn)
    rules = tag_rules.set_retention(
        uow(),
        require_user(),
        name,
        keep_newest=data["keep_newest"],
        keep_patterns=data["keep_patterns"],
        max_age_days=data["max_age_days"],
    )
    return RetentionSchema().dump(rules)


@bp.get("/repositories/<api_repo:name>/-/retention/preview")
@doc(auth="user", response=RetentionPreviewSchema)
def preview_retention(name: str):
    """List the tags retention would delete now, newest first (a dry run: nothing is
    deleted; repository admins)."""
    return RetentionPreviewSchema().dump({"tags": retention.preview(uow(), require_user(), name)})
