"""marshmallow schemas of the webhook bodies (api/rest/webhooks.py), as schemas.py's: requests
(``*In``) loaded strictly, responses dumped from the records of domain/records.py.

A webhook URL has the shape of services.webhooks.HOST_URL_RE; whether its host may be
reached is the address rule's (domain/webhook_targets.py): an address literal outside
``INDEX_WEBHOOK_ALLOWED_NETWORKS``, ``localhost`` and ``*.localhost`` are refused by the
service (``400 VALIDATION_FAILED`` naming ``url``, like these schemas), a setting the
document cannot express.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ...domain.webhook_targets import MAX_URL_LENGTH
from ...services import webhooks
from ...services.webhook_payloads import EVENTS, FORMATS
from .rules import Pattern, StrictBoolean, text

URL = Pattern(
    webhooks.HOST_URL_RE,
    "an http:// or https:// URL (host name or address, optional port and path)",
)
TAG_PATTERN = Pattern(
    webhooks.TAG_PATTERN_RE, "a glob of tag characters and * ? [ ] ! (e.g. v*, release-*)"
)
MAX_DESCRIPTION, MAX_CONTEXT = 1000, 200


def _events(**kw) -> fields.List:
    return fields.List(
        fields.String(validate=validate.OneOf(EVENTS)),
        validate=validate.Length(1, len(EVENTS)),
        metadata={"description": "tag_pushed, tag_deleted and/or repository_deleted"},
        **kw,
    )


class WebhookSchema(Schema):
    """A webhook (its secret is never shown again after it was made)."""

    id = fields.Integer()
    scope = fields.String(metadata={"description": "repository or namespace"})
    namespace = fields.String()
    repository = fields.String(attribute="repository_name", allow_none=True)
    name = fields.String()
    url = fields.String()
    format = fields.String()
    events = fields.List(fields.String())
    tag_pattern = fields.String()
    active = fields.Boolean()
    disabled_reason = fields.String()
    consecutive_failures = fields.Integer()
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class WebhookSecretSchema(WebhookSchema):
    """A webhook with its signing secret: the answer that made the secret, only."""

    secret = fields.String(metadata={"description": "the signing secret; shown only once"})


class WebhookCreateIn(Schema):
    url = text(MAX_URL_LENGTH, rules=(URL,))
    name = text(webhooks.MAX_NAME, required=False, min_length=0, load_default="")
    events = _events(load_default=None)
    tag_pattern = text(
        webhooks.MAX_TAG_PATTERN,
        required=False,
        min_length=0,
        rules=(TAG_PATTERN,),
        load_default="",
        metadata={"description": "a glob the tag must match (fnmatch); empty: every tag"},
    )
    format = fields.String(validate=validate.OneOf(FORMATS), load_default="dockerhub")
    secret = text(
        webhooks.MAX_SECRET,
        required=False,
        min_length=webhooks.MIN_SECRET,
        metadata={"description": "the signing secret; made by the server when absent"},
    )


class WebhookUpdateIn(Schema):
    json_schema = {"minProperties": 1}
    url = text(MAX_URL_LENGTH, required=False, rules=(URL,))
    name = text(webhooks.MAX_NAME, required=False, min_length=0)
    events = _events()
    tag_pattern = text(webhooks.MAX_TAG_PATTERN, required=False, min_length=0, rules=(TAG_PATTERN,))
    format = fields.String(validate=validate.OneOf(FORMATS))
    active = StrictBoolean(metadata={"description": "true re-enables a disabled webhook"})
    secret = text(webhooks.MAX_SECRET, required=False, min_length=webhooks.MIN_SECRET)
    rotate_secret = StrictBoolean(
        metadata={
            "description": "true: the server makes a new secret (answered once);"
            " a given secret wins"
        }
    )

    @validates_schema
    def _not_empty(self, data, **kwargs) -> None:
        if not data:
            raise ValidationError("give at least one field", "_schema")


class WebhookAttemptSchema(Schema):
    attempt = fields.Integer()
    at = fields.DateTime()
    status_code = fields.Integer(allow_none=True)
    duration_ms = fields.Integer()
    error = fields.String()
    response = fields.String(metadata={"description": "the first 2 KiB of the answer"})


class WebhookCallbackSchema(Schema):
    state = fields.String()
    description = fields.String()
    context = fields.String()
    target_url = fields.String()
    at = fields.DateTime()


class WebhookDeliverySchema(Schema):
    """A delivery and its attempts, newest first."""

    id = fields.Integer()
    delivery_id = fields.String(metadata={"description": "the id receivers see (a UUID)"})
    event = fields.String()
    status = fields.String(metadata={"description": "pending, delivered or failed"})
    attempt_count = fields.Integer()
    next_attempt_at = fields.DateTime()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    callback = fields.Nested(WebhookCallbackSchema, allow_none=True)
    attempts = fields.List(fields.Nested(WebhookAttemptSchema))


class WebhookCallbackIn(Schema):
    state = fields.String(required=True, validate=validate.OneOf(webhooks.CALLBACK_STATES))
    description = text(MAX_DESCRIPTION, required=False, min_length=0, load_default="")
    context = text(MAX_CONTEXT, required=False, min_length=0, load_default="")
    target_url = text(
        MAX_URL_LENGTH,
        required=False,
        min_length=0,
        rules=(Pattern(r"(?:https?://[^\s]+)?", "an http:// or https:// URL"),),
        load_default="",
    )
