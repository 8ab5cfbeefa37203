"""logconfig: the shared logging configuration, with request ids read from flask.g."""

import json
import logging

import pytest
from flask import Flask, g
from wharf_index.logconfig import configure_logging, current_request_id, logging_config


def test_request_id_comes_from_flask_g():
    app = Flask(__name__)
    with app.test_request_context("/api/v1/"):
        g.request_id = "req-123"
        assert current_request_id() == "req-123"
    assert current_request_id() == "-"


@pytest.fixture
def restore_logging():
    """Put the root logger back as it was: configure_logging changes it for the process."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), list(root.filters))
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    root.filters[:] = saved[2]


def test_configured_records_carry_the_request_id(capsys, restore_logging):
    configure_logging("INFO", "json")
    app = Flask(__name__)
    with app.test_request_context("/api/v1/"):
        g.request_id = "req-456"
        app.logger.info("inside a request")
    entry = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert entry["request_id"] == "req-456"
    assert entry["message"] == "inside a request"


def test_the_access_log_goes_through_the_same_handler():
    config = logging_config("INFO", "json")
    assert config["loggers"]["gunicorn.access"]["handlers"] == ["stdout"]
    assert config["filters"]["request_id"]["request_id"] is current_request_id
