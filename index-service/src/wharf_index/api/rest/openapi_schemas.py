"""JSON Schema (2020-12, as OpenAPI 3.1 uses it) of the API's bodies and parameters, derived
from the objects the server checks them with -- marshmallow schemas and their validators
(schemas.py, rules.py), the query parameters (inputs.Param), the URL converters and name
grammars -- so the document cannot drift from what is enforced.

Request and response schemas differ: a request string is also free of NUL characters
(inputs.storable refuses them) and only the fields marshmallow requires are required; a
response always holds every field its schema declares.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, fields, validate
from wharf_protocol.names import MAX_NAME_LENGTH, TAG_RE

from ...domain.names import MAX_NAMESPACE_LENGTH, NAMESPACE_RE, ROBOT_SEPARATOR, ROBOT_SHORT_RE
from ...services.registries import MAX_REGISTRY_NAME, REGISTRY_NAME_RE
from ...services.webhooks import CALLBACK_TOKEN_RE, DELIVERY_ID_RE, MAX_CALLBACK_TOKEN
from . import IdConverter
from .inputs import Param
from .pagination import CURSOR_RE, MAX_CURSOR_LENGTH, MAX_LIMIT
from .rules import NO_NUL, NOT_BLANK, NotBlank, NotOneOf, Pattern, json_regex
from .schemas import MAX_LOGIN_NAME, REPOSITORY_NAME

REQUEST, RESPONSE = "request", "response"
_SIMPLE = {
    fields.String: {"type": "string"},
    fields.Integer: {"type": "integer"},
    fields.Float: {"type": "number"},
    fields.Boolean: {"type": "boolean"},
    fields.DateTime: {"type": "string", "format": "date-time"},
    fields.Dict: {"type": "object"},
}


def _string(max_length: int, pattern: str) -> dict:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": pattern}


_USER_RE = f"{NAMESPACE_RE.pattern}(?:{re.escape(ROBOT_SEPARATOR)}{ROBOT_SHORT_RE.pattern})?"
_ROBOT_RE = f"{NAMESPACE_RE.pattern}{re.escape(ROBOT_SEPARATOR)}{ROBOT_SHORT_RE.pattern}"
#: Path parameters of the default converter, by name: the grammar of what they name (a
#: name outside it names nothing: 404).
PATH_PARAMETERS = {
    "username": _string(MAX_LOGIN_NAME, json_regex(_USER_RE)),
    "robot": _string(MAX_LOGIN_NAME, json_regex(_ROBOT_RE)),
    "org": _string(MAX_NAMESPACE_LENGTH, json_regex(NAMESPACE_RE)),
    "namespace": _string(MAX_NAMESPACE_LENGTH, json_regex(NAMESPACE_RE)),
    "team": _string(MAX_NAMESPACE_LENGTH, json_regex(NAMESPACE_RE)),
    "tag": _string(128, json_regex(TAG_RE)),
    "name": _string(MAX_REGISTRY_NAME, json_regex(REGISTRY_NAME_RE)),  # /registries/{name}
    "delivery_id": _string(36, json_regex(DELIVERY_ID_RE)),
    "callback_token": _string(MAX_CALLBACK_TOKEN, json_regex(CALLBACK_TOKEN_RE)),
}
#: Path parameters by converter (api/rest/__init__.py).
CONVERTER_PARAMETERS = {
    "api_repo": _string(MAX_NAME_LENGTH, REPOSITORY_NAME.json_pattern)
    | {"examples": ["alice/app", "acme/tools/app"]},  # a name spans several path segments
    "api_id": {"type": "integer", "minimum": 1, "maximum": 10**IdConverter.max_digits - 1},
}
PAGE_PARAMETERS = [
    {
        "name": "limit",
        "in": "query",
        "description": "page size (larger values are clamped to the server's maximum)",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    },
    {
        "name": "cursor",
        "in": "query",
        "description": "the `next` of the previous page",
        "schema": {
            "type": "string",
            "maxLength": MAX_CURSOR_LENGTH,
            "pattern": json_regex(CURSOR_RE),
        },
    },
]


def path_parameter(converter: str | None, name: str) -> dict:
    """The OpenAPI Parameter Object of path parameter ``name`` (Werkzeug ``converter``)."""
    schema = dict(CONVERTER_PARAMETERS.get(converter or "") or PATH_PARAMETERS[name])
    out = {"name": name, "in": "path", "required": True, "schema": schema}
    if "examples" in schema:
        out["example"] = schema["examples"][0]
    return out


def query_parameter(param: Param) -> dict:
    """The OpenAPI Parameter Object of a query parameter as inputs.query checks it."""
    if param.boolean:
        schema: dict[str, Any] = {"type": "boolean"}
    else:
        schema = {
            "type": "string",
            "minLength": 1,
            "maxLength": param.max_length,
            "pattern": NOT_BLANK if param.not_blank else NO_NUL,
        }
    out = {"name": param.name, "in": "query", "required": param.required, "schema": schema}
    if param.description:
        out["description"] = param.description
    return out


def ref(schema: type[Schema] | Schema, components: dict, direction: str) -> dict:
    """A ``$ref`` to the component of ``schema`` (created on first use)."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__
    if direction == REQUEST and not name.endswith("In"):
        name += "In"  # a response schema also used in a request (TokenScopeSchema)
    if name not in components:
        components[name] = {}  # placeholder against recursion
        components[name] = schema_object(cls, components, direction)
    return {"$ref": f"#/components/schemas/{name}"}


def _validators(out: dict, field: fields.Field, direction: str) -> None:
    patterns = []
    for rule in field.validators:
        if isinstance(rule, NotOneOf):
            out["not"] = {"enum": list(rule.iterable)}
        elif isinstance(rule, validate.OneOf):
            out["enum"] = list(rule.choices)
        elif isinstance(rule, validate.Length):
            prefix = "Items" if out.get("type") == "array" else "Length"
            if rule.min is not None:
                out[f"min{prefix}"] = rule.min
            if rule.max is not None:
                out[f"max{prefix}"] = rule.max
        elif isinstance(rule, validate.Range):
            if rule.min is not None:
                out["minimum"] = rule.min
            if rule.max is not None:
                out["maximum"] = rule.max
        elif isinstance(rule, Pattern | NotBlank):
            patterns.append(rule.json_pattern)
        else:  # pragma: no cover - a programming error: the document would be inexact
            raise TypeError(f"no JSON Schema for validator {rule!r}")
    if direction == REQUEST and out.get("type") == "string" and not patterns:
        patterns.append(NO_NUL)
    if patterns:
        (out["pattern"],) = patterns  # one pattern per field; combine rules in one regex


def field_schema(field: fields.Field, components: dict, direction: str) -> dict:
    """The JSON Schema of one marshmallow field."""
    if isinstance(field, fields.Nested):
        out = ref(field.nested, components, direction)
    elif isinstance(field, fields.List):
        out = {"type": "array", "items": field_schema(field.inner, components, direction)}
    else:
        out = next((dict(v) for k, v in _SIMPLE.items() if isinstance(field, k)), {})
    _validators(out, field, direction)
    if field.allow_none:
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"].append(None)
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    if "description" in field.metadata:
        out["description"] = field.metadata["description"]
    return out


def schema_object(cls: type[Schema], components: dict, direction: str = RESPONSE) -> dict:
    """Return the JSON Schema of a marshmallow Schema class (nested ones as components)."""
    declared = cls._declared_fields
    names = {name: f.data_key or name for name, f in declared.items()}
    out: dict[str, Any] = {
        "type": "object",
        "properties": {
            names[n]: field_schema(f, components, direction) for n, f in declared.items()
        },
        "additionalProperties": False,
    }
    required = [
        names[n]
        for n, f in declared.items()
        if (f.required if direction == REQUEST else not f.load_only)
    ]
    if required:
        out["required"] = required
    out.update(getattr(cls, "json_schema", {}) if direction == REQUEST else {})
    if cls.__doc__:
        out["description"] = cls.__doc__.strip().splitlines()[0]
    return out
