"""The Index under real gunicorn (wsgi.py): fork-safe pool, readiness, database restarts."""

from __future__ import annotations

import json
import os

import pytest
import requests
import wharf_index
import wharf_protocol

from tests.conftest import SECRET_KEY, terminate_sessions

pytestmark = pytest.mark.db


def _pythonpath() -> str:
    roots = {os.path.dirname(os.path.dirname(os.path.abspath(m.__file__)))
             for m in (wharf_index, wharf_protocol)}  # fmt: skip
    return os.pathsep.join(sorted(roots))


def test_serves_and_recovers_from_lost_connections(service_factory, db_url):
    env = {"INDEX_DATABASE_URL": db_url, "INDEX_SECRET_KEY": SECRET_KEY,
           "INDEX_LOG_FORMAT": "json", "PYTHONPATH": _pythonpath()}  # fmt: skip
    service = service_factory("wharf_index.wsgi:app", env, "index", workers=2, threads=2,
                              health_path="/readyz",
                              extra_args=("-c", "python:wharf_index.gunicorn_conf"))  # fmt: skip
    statuses = [requests.get(service.url + "/readyz", timeout=10).status_code for _ in range(8)]
    assert statuses == [200] * 8
    terminate_sessions(db_url)
    statuses = [requests.get(service.url + "/readyz", timeout=10).status_code for _ in range(8)]
    assert statuses == [200] * 8  # stale pooled connections are replaced, never surfaced
    response = requests.get(service.url + "/healthz", headers={"X-Request-ID": "req-42"},
                            timeout=10)  # fmt: skip
    assert response.headers["X-Request-ID"] == "req-42"
    log = service.log()
    assert SECRET_KEY not in log
    access = [json.loads(line) for line in log.splitlines()
              if line.startswith("{") and '"gunicorn.access"' in line]  # fmt: skip
    assert access and all(entry["level"] == "INFO" for entry in access)
