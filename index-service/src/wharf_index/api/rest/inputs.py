"""Reading request input for the API: JSON bodies through marshmallow, query parameters.

Everything that is not acceptable is a ``400 VALIDATION_FAILED`` whose ``detail`` maps
each bad field to messages -- never a 500. Strings holding NUL or unpaired surrogates
(which PostgreSQL cannot store) are refused here, in the path, the query and the body.
Bodies are parsed by wharf_protocol.jsondepth: JSON nested deeper than
:data:`~wharf_protocol.jsondepth.MAX_DEPTH` levels is refused before anything recurses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError
from wharf_protocol import jsondepth
from wharf_protocol.errcode import ApiError

from ...domain.names import MAX_NAMESPACE_LENGTH
from . import bp


def invalid(detail: dict[str, Any], message: str = "the request is invalid") -> ApiError:
    return ApiError("VALIDATION_FAILED", message, 400, detail)


def storable(value: object) -> bool:
    """Tell whether every string in ``value`` (recursively) can be stored in PostgreSQL."""
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(storable(k) and storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(map(storable, value))
    return True


@bp.before_request
def refuse_unstorable_input() -> None:
    """400 for NUL characters in the path or the query string."""
    if not storable(request.view_args or {}) or not all(
        storable(k) and storable(v) for k, v in request.args.items(multi=True)
    ):
        raise invalid({"_request": ["NUL characters are not allowed"]})


def json_body() -> Any:
    """Return the request's JSON body; 400 VALIDATION_FAILED when the Content-Type is not
    JSON, the body is not JSON, or it nests deeper than jsondepth.MAX_DEPTH levels."""
    if not request.is_json:
        raise invalid({"_body": ["a JSON body (Content-Type: application/json) is required"]})
    try:
        return jsondepth.loads(request.get_data(cache=True))
    except jsondepth.JsonTooDeep as exc:
        problem = str(exc)
    except ValueError as exc:  # not JSON, or not decodable
        problem = f"not JSON: {exc}"
    raise invalid({"_body": [problem]}, "the request body is not acceptable JSON")


def load(schema: type[Schema]) -> dict[str, Any]:
    """Return the JSON body loaded with ``schema``; 400 VALIDATION_FAILED otherwise."""
    data = json_body()
    if not storable(data):
        raise invalid({"_body": ["strings may not hold NUL or unpaired surrogates"]})
    try:
        return schema().load(data)
    except ValidationError as exc:
        raise invalid(
            exc.messages_dict if isinstance(exc.messages, dict) else {"_body": exc.messages},
            "the request body is invalid",
        ) from None


@dataclass(frozen=True)
class Param:
    """A query parameter: what :func:`query` and :func:`flag` accept, and what the OpenAPI
    document says about it (openapi.py reads these same objects)."""

    name: str
    max_length: int = 200
    required: bool = False
    not_blank: bool = False
    boolean: bool = False
    description: str = ""


NAMESPACE_FILTER = Param("namespace", MAX_NAMESPACE_LENGTH, description="only this namespace")


def query(param: Param) -> str | None:
    """Return the value of ``param`` (None when absent and optional); 400 when missing but
    required, empty, too long, or blank where it must not be."""
    value = request.args.get(param.name)
    if value is None:
        if param.required:
            raise invalid({param.name: ["this parameter is required"]})
        return None
    if not 1 <= len(value) <= param.max_length:
        raise invalid({param.name: [f"must be 1..{param.max_length} characters"]})
    if param.not_blank and not value.strip():
        raise invalid({param.name: ["must not be blank"]})
    return value


def flag(param: Param) -> bool:
    """Return a boolean query parameter: exactly ``true`` or ``false`` (absent = false)."""
    value = request.args.get(param.name, "false")
    if value not in ("true", "false"):
        raise invalid({param.name: ["must be true or false"]})
    return value == "true"
