"""wharf_protocol.logs: JSON lines, request ids, secrets never reach the output."""

from __future__ import annotations

import io
import json
import logging

import pytest
from wharf_protocol.logs import (
    JsonFormatter,
    RedactingFilter,
    RequestIdFilter,
    TextFormatter,
    configure_logging,
    logging_config,
    redact,
)


@pytest.fixture
def emit():
    """Log through a private logger with the production filters; return the output lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("wharf.test.logconfig")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)

    def _emit(fmt: str, *args, formatter=None, **kwargs) -> str:
        handler.setFormatter(formatter or JsonFormatter())
        stream.seek(0)
        stream.truncate()
        logger.info(fmt, *args, **kwargs)
        return stream.getvalue()

    yield _emit
    logger.removeHandler(handler)


@pytest.fixture
def restore_logging():
    """Undo configure_logging's global changes after the test."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]


def test_json_line_has_the_documented_fields(emit):
    line = emit("upload %s finished: %d bytes", "u-1", 42, extra={"repository": "ns/app"})
    assert line.endswith("\n") and line.count("\n") == 1
    entry = json.loads(line)
    assert entry["message"] == "upload u-1 finished: 42 bytes"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "wharf.test.logconfig"
    assert entry["request_id"] == "-"
    assert entry["repository"] == "ns/app"
    assert entry["time"].endswith("+00:00")


def test_request_id_comes_from_the_callable():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter(lambda: "req-123"))
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("wharf.test.logs.callable")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("inside")
    finally:
        logger.removeHandler(handler)
    assert json.loads(stream.getvalue())["request_id"] == "req-123"


def test_request_id_in_extra_is_kept(emit):
    assert json.loads(emit("x", extra={"request_id": "given"}))["request_id"] == "given"


def test_exception_is_logged_as_text_field(emit):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("wharf.test.logconfig.exc")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        raise RuntimeError("GET https://bucket.s3/k?X-Amz-Signature=abcdef failed")
    except RuntimeError:
        logger.exception("storage failed")
    finally:
        logger.removeHandler(handler)
    entry = json.loads(stream.getvalue())
    assert "RuntimeError" in entry["exc_info"]
    assert "abcdef" not in entry["exc_info"]


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("header Authorization=Bearer eyJhbGciOi.abc.def", "eyJhbGciOi"),
        ("login password=hunter2 user=bob", "hunter2"),
        ('{"token": "s3cr3t-tok", "user": "bob"}', "s3cr3t-tok"),
        ("registry_credential: c-9f8e7d", "c-9f8e7d"),
        (
            "redirect to https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIA%2F20240101&X-Amz-Signature=0a1b2c",
            "AKIA",
        ),
        ("https://b.example/k?AWSAccessKeyId=AKIA1&Expires=1&Signature=zz%3D", "zz%3D"),
        ("index at https://reg:p4ssw0rd@index.example/api", "p4ssw0rd"),
    ],
)
def test_secrets_in_messages_are_masked(emit, message, secret):
    entry = json.loads(emit("%s", message))
    assert secret not in entry["message"]
    assert "***" in entry["message"]


def test_secrets_in_mapping_arguments_are_masked(emit):
    headers = {"Authorization": "Bearer abc.def", "Cookie": "session=xyz", "Accept": "*/*"}
    message = json.loads(emit("request headers %s", headers))["message"]
    assert "abc.def" not in message and "xyz" not in message
    assert "*/*" in message


def test_secrets_in_extra_fields_are_masked(emit):
    entry = json.loads(
        emit("called", extra={"password": "hunter2", "headers": {"X-Amz-Security-Token": "tok"}})
    )
    assert entry["password"] == "***"
    assert entry["headers"] == {"X-Amz-Security-Token": "***"}


def test_ordinary_text_is_left_alone(emit):
    message = "PUT /v2/ns/app/blobs/uploads/u-1?digest=sha256:ab12 201 user=bob"
    assert json.loads(emit("%s", message))["message"] == message


def test_redact_walks_nested_structures():
    value = {"a": [{"password": "x"}, "Bearer tok"], "b": ("ok", "token=t1")}
    assert redact(value) == {"a": [{"password": "***"}, "Bearer ***"], "b": ("ok", "token=***")}


def test_text_format_is_one_readable_line(emit):
    line = emit("hello %s", "world", formatter=TextFormatter())
    assert line.rstrip("\n").endswith("INFO    [-] wharf.test.logconfig: hello world")


def test_configure_logging_writes_json_to_stdout(capsys, restore_logging):
    configure_logging("debug", "json")
    logging.getLogger("wharf_registry.test").debug("token=%s", "abc123")
    entry = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert entry["level"] == "DEBUG"
    assert entry["message"] == "token=***"


def test_configure_logging_text(capsys, restore_logging):
    configure_logging("INFO", "text")
    logging.getLogger("wharf_registry.test").info("plain")
    logging.getLogger("wharf_registry.test").debug("hidden")
    out = capsys.readouterr().out
    assert "wharf_registry.test: plain" in out and "hidden" not in out


@pytest.mark.parametrize(("level", "fmt"), [("LOUD", "json"), ("INFO", "xml")])
def test_unknown_level_or_format_is_refused(level, fmt):
    with pytest.raises(ValueError, match="unknown log"):
        logging_config(level, fmt)


def test_gunicorn_access_records_get_structured_fields():
    atoms = {
        "{x-request-id}o": "rid-9",
        "m": "GET",
        "U": "/v2/",
        "s": "200",
        "B": "2",
        "M": "3",
        "h": "127.0.0.1",
    }
    logger = logging.getLogger("gunicorn.access")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    old_propagate, logger.propagate = logger.propagate, False
    try:
        logger.info('%(h)s "%(m)s %(U)s" %(s)s', atoms)
    finally:
        logger.removeHandler(handler)
        logger.propagate = old_propagate
    entry = json.loads(stream.getvalue())
    assert entry["message"] == '127.0.0.1 "GET /v2/" 200'
    assert entry["request_id"] == "rid-9"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/v2/", "200")
