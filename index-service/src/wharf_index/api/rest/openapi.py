"""The OpenAPI 3.1 document of ``/api/v1``, generated from the routes and their schemas.

Each view declares what it takes and gives with one decorator, :func:`doc`; ``GET
/api/v1/openapi.json`` walks the app's URL map (every rule of the ``api`` blueprint), turns
Werkzeug rules into OpenAPI paths (``<api_repo:name>`` -> ``{name}``) and marshmallow
schemas into JSON Schema 2020-12 components (OpenAPI 3.1 uses JSON Schema as is). The
summary of an operation is the first line of its view's docstring.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

from flask import current_app
from marshmallow import Schema, fields, validate

from . import URL_PREFIX, bp

API_VERSION = "1.0"
AUTH_NOTES = {
    "none": "no authentication",
    "optional": "anonymous callers see public data only",
    "user": "any signed-in user (access tokens within their scopes; repository"
            " administration needs a scope naming admin)",
    "account": "a password login or session (not an access token)",
    "admin": "an administrator (password login or session)",
}
_RULE_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


@dataclass(frozen=True)
class ApiDoc:
    auth: str = "optional"
    body: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    paginated: bool = False
    query: tuple[str, ...] = ()


def doc(**kw: Any):
    """Attach an :class:`ApiDoc` to a view (what openapi.json says about it)."""
    spec = ApiDoc(**kw)
    assert spec.auth in AUTH_NOTES, spec.auth  # noqa: S101 - a programming error at import

    def mark(view):
        view.api_doc = spec
        return view

    return mark


# -- marshmallow -> JSON Schema --------------------------------------------------------------

_SIMPLE = {
    fields.String: {"type": "string"}, fields.Integer: {"type": "integer"},
    fields.Float: {"type": "number"}, fields.Boolean: {"type": "boolean"},
    fields.DateTime: {"type": "string", "format": "date-time"},
    fields.Dict: {"type": "object"},
}  # fmt: skip


def _ref(schema: type[Schema] | Schema, components: dict) -> dict:
    cls = schema if isinstance(schema, type) else type(schema)
    if cls.__name__ not in components:
        components[cls.__name__] = {}  # placeholder against recursion
        components[cls.__name__] = schema_object(cls, components)
    return {"$ref": f"#/components/schemas/{cls.__name__}"}


def _field(field: fields.Field, components: dict) -> dict:
    if isinstance(field, fields.Nested):
        out = _ref(field.nested, components)
    elif isinstance(field, fields.List):
        out = {"type": "array", "items": _field(field.inner, components)}
    else:
        out = next((dict(v) for k, v in _SIMPLE.items() if isinstance(field, k)), {})
    for rule in field.validators:
        if isinstance(rule, validate.OneOf):
            out["enum"] = list(rule.choices)
        elif isinstance(rule, validate.Length):
            prefix = "Items" if out.get("type") == "array" else "Length"
            if rule.min is not None:
                out[f"min{prefix}"] = rule.min
            if rule.max is not None:
                out[f"max{prefix}"] = rule.max
        elif isinstance(rule, validate.Range):
            out.update(minimum=rule.min, maximum=rule.max)
    if field.allow_none and "type" in out:
        out["type"] = [out["type"], "null"]
    if "description" in field.metadata:
        out["description"] = field.metadata["description"]
    return out


def schema_object(cls: type[Schema], components: dict) -> dict:
    """Return the JSON Schema of a marshmallow Schema class (nested ones as components)."""
    declared = cls._declared_fields
    out: dict[str, Any] = {
        "type": "object",
        "properties": {
            (f.data_key or name): _field(f, components) for name, f in declared.items()
        },
        "additionalProperties": False,
    }
    required = [f.data_key or name for name, f in declared.items() if f.required]
    if required:
        out["required"] = required
    if cls.__doc__:
        out["description"] = cls.__doc__.strip().splitlines()[0]
    return out


# -- the document ----------------------------------------------------------------------------


def _operation(view, rule, components: dict) -> dict:
    spec: ApiDoc = getattr(view, "api_doc", ApiDoc())
    summary = (view.__doc__ or view.__name__).strip().splitlines()[0]
    op: dict[str, Any] = {
        "operationId": rule.endpoint.split(".", 1)[1],
        "summary": summary,
        "description": f"Authentication: {AUTH_NOTES[spec.auth]}.",
        "tags": [view.__module__.rsplit(".", 1)[-1]],
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for _, name in _RULE_PARAM.findall(rule.rule)
        ] + [{"name": q, "in": "query", "schema": {"type": "string"}} for q in spec.query],
        "responses": {"default": {"$ref": "#/components/responses/Error"}},
    }  # fmt: skip
    if spec.paginated:
        op["parameters"] += [
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}},
            {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        ]
    if spec.auth != "none":
        op["security"] = [{"session": []}, {"basic": []}, {"bearer": []}]
        if spec.auth == "optional":
            op["security"].append({})
    if spec.body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _ref(spec.body, components)}}}  # fmt: skip
    answer: dict[str, Any] = {"description": "success"}
    if spec.response is not None:
        schema = _ref(spec.response, components)
        if spec.paginated:
            schema = {"type": "object", "required": ["items", "next"], "properties": {
                "items": {"type": "array", "items": schema},
                "next": {"type": ["string", "null"], "description": "cursor of the next page"},
            }}  # fmt: skip
        answer["content"] = {"application/json": {"schema": schema}}
    op["responses"][str(spec.status)] = answer
    return op


def build_document() -> dict:
    """Return the OpenAPI 3.1 document for every route of the ``api`` blueprint."""
    components: dict[str, Any] = {}
    paths: dict[str, dict] = {}
    prefix = URL_PREFIX
    for rule in sorted(current_app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api."):
            continue
        view = current_app.view_functions[rule.endpoint]
        path = _RULE_PARAM.sub(r"{\2}", rule.rule[len(prefix):])
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(view, rule, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Wharf Index API", "version": API_VERSION,
                 "description": sys.modules[bp.import_name].__doc__ or ""},  # fmt: skip
        "servers": [{"url": prefix or "/"}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())) | {"Error": _ERROR},
            "responses": {"Error": {"description": "an error", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                "basic": {"type": "http", "scheme": "basic"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }


_ERROR = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "detail": {}}}},
}  # fmt: skip


@bp.get("/openapi.json")
@doc(auth="none")
def get_openapi():
    """The OpenAPI 3.1 description of this API."""
    return build_document()
