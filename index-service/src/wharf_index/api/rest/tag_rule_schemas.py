"""marshmallow schemas of a repository's tag rules (api/rest/tag_rules.py), as schemas.py's:
requests (``*In``) loaded strictly, responses dumped from domain.records.TagRules.

Patterns are wharf_protocol.policy's tag patterns (shell-style globs over tag characters);
the service checks them again (services/tag_rules.py), so a body the document allows and
the service refuses cannot exist."""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from wharf_protocol.policy import MAX_PATTERN_LENGTH

from ...services import tag_rules
from .rules import Pattern, StrictInteger

PATTERN = Pattern(
    r"[A-Za-z0-9_.*?\[\]!-]+", "a glob of tag characters and * ? [ ] ! (e.g. v*, release-?)"
)


def _patterns(description: str, **kw) -> fields.List:
    return fields.List(
        fields.String(validate=[validate.Length(1, MAX_PATTERN_LENGTH), PATTERN]),
        validate=validate.Length(max=tag_rules.MAX_PATTERNS),
        metadata={"description": description},
        **kw,
    )


class ImmutableTagsIn(Schema):
    patterns = _patterns(
        "tags matching one of these are never moved to another digest nor deleted",
        required=True,
    )


class ImmutableTagsSchema(Schema):
    patterns = fields.List(fields.String(), attribute="immutable")


class RetentionIn(Schema):
    keep_newest = StrictInteger(
        required=True,
        allow_none=True,
        validate=validate.Range(0, tag_rules.MAX_KEEP_NEWEST),
        metadata={"description": "keep the N most recently pushed tags; null: not set"},
    )
    keep_patterns = _patterns("keep every tag matching one of these", load_default=list)
    max_age_days = StrictInteger(
        required=True,
        allow_none=True,
        validate=validate.Range(1, tag_rules.MAX_AGE_DAYS),
        metadata={"description": "tags pushed more than D days ago may go; null: not set"},
    )


class RetentionSchema(Schema):
    keep_newest = fields.Integer(allow_none=True)
    keep_patterns = fields.List(fields.String())
    max_age_days = fields.Integer(allow_none=True)
    immutable = fields.List(
        fields.String(), metadata={"description": "immutable patterns: never deleted either"}
    )


class ExpiredTagSchema(Schema):
    name = fields.String(attribute="tag")
    pushed_at = fields.DateTime()
    rules = fields.List(
        fields.String(), metadata={"description": "the rules that delete it (all that are set)"}
    )


class RetentionPreviewSchema(Schema):
    tags = fields.List(fields.Nested(ExpiredTagSchema))
