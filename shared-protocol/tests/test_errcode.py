"""Error codes and bodies (distribution spec, "Error Codes"; the Index's error shape)."""

import json

import pytest
from wharf_protocol import errcode
from wharf_protocol.errcode import (
    ApiError,
    ErrorCode,
    ProtocolError,
    envelope,
    lookup,
    parse_api_error,
    parse_envelope,
    register,
    registered,
)

SPEC_TABLE = {
    "BLOB_UNKNOWN": 404,
    "BLOB_UPLOAD_INVALID": 400,
    "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400,
    "MANIFEST_BLOB_UNKNOWN": 404,
    "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404,
    "NAME_INVALID": 400,
    "NAME_UNKNOWN": 404,
    "SIZE_INVALID": 400,
    "UNAUTHORIZED": 401,
    "DENIED": 403,
    "UNSUPPORTED": 415,
    "TOOMANYREQUESTS": 429,
    "UNKNOWN": 500,
}


@pytest.mark.parametrize(("value", "status"), sorted(SPEC_TABLE.items()))
def test_table_rows(value, status):
    code = lookup(value)
    assert code.value == value
    assert code.http_status == status
    assert code.message and code.description
    assert getattr(errcode, value) is code


def test_registered_lists_the_table_in_order():
    values = [c.value for c in registered()]
    assert values[0] == "BLOB_UNKNOWN" and values[-1] == "UNKNOWN"
    assert set(SPEC_TABLE) <= set(values)


def test_unknown_values_look_up_as_unknown():
    assert lookup("NOPE") is errcode.UNKNOWN


def test_register_rejects_duplicates_and_adds_new_codes(monkeypatch):
    monkeypatch.setattr(errcode, "_REGISTRY", dict(errcode._REGISTRY))
    with pytest.raises(ValueError, match="already registered"):
        register("BLOB_UNKNOWN", "x", 404)
    code = register("USERNAME_TAKEN", "username taken", 409)
    assert lookup("USERNAME_TAKEN") is code == ErrorCode("USERNAME_TAKEN", "username taken", 409)


def test_protocol_error_defaults_and_overrides():
    error = ProtocolError(errcode.BLOB_UNKNOWN)
    assert error.status == 404
    assert error.to_dict() == {"code": "BLOB_UNKNOWN", "message": "blob unknown to registry"}
    assert "BLOB_UNKNOWN" in str(error) and "BLOB_UNKNOWN" in repr(error)
    error = ProtocolError(errcode.UNSUPPORTED, "method not allowed", {"method": "PUT"}, 405)
    assert error.status == 405
    assert error.to_dict() == {
        "code": "UNSUPPORTED",
        "message": "method not allowed",
        "detail": {"method": "PUT"},
    }


def test_envelope_round_trip():
    errors = [
        ProtocolError(errcode.DIGEST_INVALID, detail={"digest": "sha256:00"}),
        ProtocolError(errcode.NAME_UNKNOWN, "no such repo"),
    ]
    body = envelope(*errors)
    assert body == {"errors": [e.to_dict() for e in errors]}
    for source in (body, json.dumps(body), json.dumps(body).encode()):
        parsed = parse_envelope(source)
        assert [p.to_dict() for p in parsed] == body["errors"]
        assert [p.status for p in parsed] == [400, 404]
    assert envelope() == {"errors": []}


def test_parse_envelope_keeps_unregistered_codes_and_default_messages():
    parsed = parse_envelope({"errors": [{"code": "WEIRD", "message": "odd"}, {"code": "DENIED"}]})
    assert parsed[0].code.value == "WEIRD" and parsed[0].status == 500
    assert parsed[0].message == "odd"
    assert parsed[1].code is errcode.DENIED and parsed[1].message == errcode.DENIED.message


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        {"errors": {}},
        {"nope": []},
        {"errors": [{"message": "x"}]},
        {"errors": ["x"]},
        {"errors": [{"code": 5}]},
        '{"errors": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
)
def test_parse_envelope_rejects_other_bodies(body):
    with pytest.raises(ValueError):
        parse_envelope(body)


def test_api_error_body_round_trip():
    error = ApiError("TOKEN_INVALID", "token expired", 422, {"reason": "expired"})
    body = error.to_body()
    assert body == {
        "error": {
            "code": "TOKEN_INVALID",
            "message": "token expired",
            "detail": {"reason": "expired"},
        }
    }
    parsed = parse_api_error(json.dumps(body), status=422)
    assert (parsed.code, parsed.message, parsed.status, parsed.detail) == (
        "TOKEN_INVALID",
        "token expired",
        422,
        {"reason": "expired"},
    )
    assert ApiError("X", "m", 400).to_body() == {"error": {"code": "X", "message": "m"}}
    assert "TOKEN_INVALID" in str(error) and "422" in repr(error)
    assert parse_api_error({"error": {"code": "X"}}).status == 500
    assert errcode.API_TOKEN_INVALID == "TOKEN_INVALID"


@pytest.mark.parametrize(
    "body",
    [
        b"\xff",
        "null",
        {"error": "x"},
        {"error": {"message": "m"}},
        b'{"error": ' + b'{"a": ' * 100_000,
    ],
)
def test_parse_api_error_rejects_other_bodies(body):
    with pytest.raises(ValueError):
        parse_api_error(body)
