"""The OpenAPI 3.1 document of ``/api/v1``, generated from the routes and their schemas.

Each view declares what it takes and gives with one decorator, :func:`doc`; ``GET
/api/v1/openapi.json`` walks the app's URL map (every rule of the ``api`` blueprint), turns
Werkzeug rules into OpenAPI paths (``<api_repo:name>`` -> ``{name}``) and marshmallow
schemas into JSON Schema components (openapi_schemas.py). The summary of an operation is
the first line of its view's docstring.

Every status an operation can answer is listed, each error with the one error body: 400
(bad input: every operation, since NUL characters are refused anywhere), 401 (with
``WWW-Authenticate``) and 429 (failed logins: ``Retry-After``) wherever credentials are
read, 403 where a signed-in caller may be refused, 404 where a path names something, 409
where the view says so, 413 for bodies, 414 (the server's request line limit) everywhere,
503 (``Retry-After``) wherever the database is used. ``links`` (OpenAPI Link Objects)
lead from what a creation answers to the operations on what it created.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

from flask import current_app
from marshmallow import Schema

from . import URL_PREFIX, bp
from .inputs import Param
from .openapi_schemas import (
    PAGE_PARAMETERS,
    REQUEST,
    RESPONSE,
    path_parameter,
    query_parameter,
    ref,
)

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
    """What a view takes and gives. ``errors``: statuses beyond those its auth, body, path
    and pagination imply (e.g. 404 for a name in the body, 409); ``response``: the schema
    of the answer, or several (it is one of them: ``anyOf``); ``links``: path parameter
    of the created resource -> the field of the answer holding it; ``security``: the
    schemes that work (default all three); ``db``: whether it reads the database."""

    auth: str = "optional"
    body: type[Schema] | None = None
    response: type[Schema] | tuple[type[Schema], ...] | None = None
    status: int = 200
    paginated: bool = False
    query: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()
    links: tuple[tuple[str, str], ...] = ()
    security: tuple[str, ...] = ("session", "basic", "bearer")
    db: bool = True


def doc(**kw: Any):
    """Attach an :class:`ApiDoc` to a view (what openapi.json says about it)."""
    kw["links"] = (
        tuple(kw.get("links", {}).items())
        if isinstance(kw.get("links"), dict)
        else kw.get("links", ())
    )
    spec = ApiDoc(**kw)
    assert spec.auth in AUTH_NOTES, spec.auth  # noqa: S101 - a programming error at import

    def mark(view):
        view.api_doc = spec
        return view

    return mark


# -- responses -------------------------------------------------------------------------------

ERROR_RESPONSES = {
    400: (
        "BadRequest",
        "invalid input: VALIDATION_FAILED (messages per field in `detail`), "
        "CURSOR_INVALID, NAME_INVALID, NAME_RESERVED, PASSWORD_INVALID, ...",
    ),
    401: ("Unauthorized", "no or wrong credentials (UNAUTHORIZED)"),
    403: ("Forbidden", "not allowed (DENIED), or CSRF_FAILED for a session without X-CSRF-Token"),
    404: ("NotFound", "what the path (or the body) names does not exist, or is private"),
    409: ("Conflict", "conflicts with the current state (exists already, in use, last owner)"),
    413: ("TooLarge", "the body is larger than 8 MiB"),
    414: ("UriTooLong", "the request line is longer than the server's limit (4 KiB)"),
    429: ("TooManyRequests", "too many failed logins: the account is locked for a while"),
    502: ("BadGateway", "a registry the Index called refused (REGISTRY_UNAVAILABLE)"),
    503: (
        "Unavailable",
        "the database, or a registry the request calls (REGISTRY_UNAVAILABLE), is"
        " unavailable; try again",
    ),
}
_HEADERS = {
    401: {
        "WWW-Authenticate": {
            "required": True,
            "description": "the challenge",
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "required": True,
            "description": "seconds to wait",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
    503: {
        "Retry-After": {
            "required": True,
            "description": "seconds to wait",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}
_ERROR = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "pattern": "^[A-Z][A-Z_]*$"},
                "message": {"type": "string"},
                "detail": {},
            },
        }
    },
}


def _error_statuses(spec: ApiDoc, method: str, has_path_params: bool) -> set[int]:
    statuses = {400, 414, *spec.errors}
    if spec.auth != "none":
        statuses |= {401, 429}
    if spec.auth in ("user", "account", "admin") or (
        spec.auth == "optional" and method not in ("GET", "HEAD")
    ):
        statuses.add(403)
    if has_path_params:
        statuses.add(404)
    if spec.body is not None:
        statuses.add(413)
    if spec.db:
        statuses.add(503)
    return statuses


def _response_components() -> dict:
    out = {}
    for status, (name, description) in ERROR_RESPONSES.items():
        out[name] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        if status in _HEADERS:
            out[name]["headers"] = _HEADERS[status]
    return out


# -- the document ----------------------------------------------------------------------------


def _operation(view, rule, method: str, components: dict) -> dict:
    spec: ApiDoc = getattr(view, "api_doc", ApiDoc())
    summary = " ".join((view.__doc__ or view.__name__).strip().split("\n\n")[0].split())
    path_params = [
        path_parameter(converter, name) for converter, name in _RULE_PARAM.findall(rule.rule)
    ]
    op: dict[str, Any] = {
        "operationId": rule.endpoint.split(".", 1)[1],
        "summary": summary,
        "description": f"Authentication: {AUTH_NOTES[spec.auth]}.",
        "tags": [view.__module__.rsplit(".", 1)[-1]],
        "parameters": path_params + [query_parameter(q) for q in spec.query],
        "responses": {},
    }
    if spec.paginated:
        op["parameters"] += [dict(p) for p in PAGE_PARAMETERS]
    if spec.auth != "none":
        op["security"] = [{scheme: []} for scheme in spec.security]
        if spec.auth == "optional":
            op["security"].append({})
    if spec.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(spec.body, components, REQUEST)}},
        }
    answer: dict[str, Any] = {"description": "success"}
    if spec.response is not None:
        answers = spec.response if isinstance(spec.response, tuple) else (spec.response,)
        schema = (
            ref(answers[0], components, RESPONSE)
            if len(answers) == 1
            else {"anyOf": [ref(answer, components, RESPONSE) for answer in answers]}
        )
        if spec.paginated:
            schema = {
                "type": "object",
                "required": ["items", "next"],
                "additionalProperties": False,
                "properties": {
                    "items": {"type": "array", "items": schema},
                    "next": {"type": ["string", "null"], "description": "cursor of the next page"},
                },
            }
        answer["content"] = {"application/json": {"schema": schema}}
    op["responses"][str(spec.status)] = answer
    for status in sorted(_error_statuses(spec, method, bool(path_params))):
        name = ERROR_RESPONSES[status][0]
        op["responses"][str(status)] = {"$ref": f"#/components/responses/{name}"}
    return op


def _add_links(paths: dict, views: dict) -> None:
    """Link each creation's answer to the operations on what it created: those under its
    path with exactly its own path parameters plus the ones ``links`` names."""
    for path, item in paths.items():
        for op in item.values():
            spec: ApiDoc = getattr(views[op["operationId"]], "api_doc", ApiDoc())
            if not spec.links:
                continue
            own = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            wanted = own | {name for name, _ in spec.links}
            values = {f"path.{n}": f"$request.path.{n}" for n in own}
            values |= {f"path.{n}": f"$response.body#/{field}" for n, field in spec.links}
            links = {}
            for target_path, target_item in paths.items():
                if not target_path.startswith(path + "/"):
                    continue
                for target in target_item.values():
                    names = {p["name"] for p in target["parameters"] if p["in"] == "path"}
                    if names == wanted:
                        links[target["operationId"]] = {
                            "operationId": target["operationId"],
                            "parameters": dict(values),
                        }
            op["responses"][str(spec.status)]["links"] = links


def build_document() -> dict:
    """Return the OpenAPI 3.1 document for every route of the ``api`` blueprint."""
    components: dict[str, Any] = {}
    paths: dict[str, dict] = {}
    views: dict[str, Any] = {}
    prefix = URL_PREFIX
    for rule in sorted(current_app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api."):
            continue
        view = current_app.view_functions[rule.endpoint]
        views[rule.endpoint.split(".", 1)[1]] = view
        path = _RULE_PARAM.sub(r"{\2}", rule.rule[len(prefix) :])
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation = _operation(view, rule, method, components)
            paths.setdefault(path, {})[method.lower()] = operation
    _add_links(paths, views)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Wharf Index API",
            "version": API_VERSION,
            "description": sys.modules[bp.import_name].__doc__ or "",
        },
        "servers": [{"url": prefix or "/"}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())) | {"Error": _ERROR},
            "responses": _response_components(),
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "from POST /session; unsafe methods also need "
                    "the X-CSRF-Token header",
                },
                "basic": {"type": "http", "scheme": "basic"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }


@bp.get("/openapi.json")
@doc(auth="none", db=False)
def get_openapi():
    """The OpenAPI 3.1 description of this API."""
    return build_document()
