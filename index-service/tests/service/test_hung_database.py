"""A PostgreSQL that stops answering (SIGSTOP) while its TCP connections stay open.

The kernel still accepts connections and acknowledges what the Index sends, so only the
Index's own client-side bounds end its waits: ``/readyz`` answers 503 within 2 s, the token
endpoint and token verification 503 ``UNAVAILABLE`` with ``Retry-After`` within about
``INDEX_DB_TOKEN_RESPONSE_TIMEOUT``, and once the server resumes the same processes serve
again (the abandoned connections were closed, the others are reused).

The test runs a PostgreSQL cluster of its own (``own_postgres``) and stops only that
cluster's processes, always resuming them (tests/stopped_postgres.py).
"""

from __future__ import annotations

import base64
import time

import pytest
import requests
from wharf_index.adapters import migrations
from wharf_index.adapters.db import Database
from wharf_index.adapters.unit_of_work import PgUnitOfWork
from wharf_index.domain.model import SYSTEM
from wharf_index.services import accounts, registries

from tests.conftest import PASSWORD, SECRET_KEY
from tests.service.test_gunicorn import _pythonpath
from tests.stopped_postgres import suspended

pytestmark = pytest.mark.db

READY_BOUND = 2.0  # what a load balancer may expect of /readyz
TOKEN_TIMEOUT = 1  # INDEX_DB_TOKEN_RESPONSE_TIMEOUT of the Index under test
TOKEN_BOUND = TOKEN_TIMEOUT + 2.0  # the wait plus generous room for a loaded machine


@pytest.fixture
def hung_index(own_postgres, service_factory, service_config):
    """(Index service, registry credential) on a database of its own, user alice seeded."""
    url = own_postgres.create_database("wharf")
    migrations.migrate(url)
    db = Database(url, minconn=0, maxconn=1)
    try:
        uow = PgUnitOfWork(db, service_config)
        accounts.create_user(uow, "alice", "alice@example.test", PASSWORD)
        _, credential = registries.add_registry(
            uow, "registry.test", "http://registry.test:5000", "sponsor", actor=SYSTEM
        )
    finally:
        db.close()
    env = {
        "INDEX_DATABASE_URL": url,
        "INDEX_SECRET_KEY": SECRET_KEY,
        "INDEX_PASSWORD_SCRYPT_N": "1024",
        "INDEX_LOG_FORMAT": "text",
        "INDEX_DB_TOKEN_RESPONSE_TIMEOUT": str(TOKEN_TIMEOUT),
        "PYTHONPATH": _pythonpath(),
    }
    service = service_factory(
        "wharf_index.wsgi:app",
        env,
        "index-hung-db",
        workers=1,
        threads=4,
        health_path="/readyz",
        extra_args=("-c", "python:wharf_index.gunicorn_conf"),
    )
    return service, credential


def _basic(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def _timed(method: str, url: str, **kwargs) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.request(method, url, timeout=15, **kwargs)
    return response, time.monotonic() - started


def test_a_stopped_database_fails_readiness_and_tokens_fast_and_recovers(own_postgres, hung_index):
    service, credential = hung_index
    token_url = service.url + "/v2/token?service=registry.test&scope=repository:alice/app:pull"
    verify_url = service.url + "/internal/v1/tokens/verify"
    alice, registry = _basic("alice", PASSWORD), _basic("registry.test", credential)
    warm = requests.get(token_url, headers=alice, timeout=15)  # credential cache, pool warm
    assert warm.status_code == 200
    token = warm.json()["token"]
    assert (
        requests.post(verify_url, json={"token": token}, headers=registry, timeout=15).status_code
        == 200
    )

    with suspended(own_postgres):
        for _ in range(2):  # the first request abandons a connection, the next one too
            ready, elapsed = _timed("GET", service.url + "/readyz")
            assert ready.status_code == 503 and elapsed < READY_BOUND, elapsed
            assert ready.json() == {"status": "unavailable", "database": "down"}
        issued, elapsed = _timed("GET", token_url, headers=alice)
        assert issued.status_code == 503 and elapsed < TOKEN_BOUND, elapsed
        assert issued.json()["error"]["code"] == "UNAVAILABLE"
        assert issued.headers["Retry-After"] == "1"
        verified, elapsed = _timed("POST", verify_url, json={"token": token}, headers=registry)
        assert verified.status_code == 503 and elapsed < TOKEN_BOUND, elapsed
        assert verified.headers["Retry-After"] == "1"

    master = service.pid
    deadline = time.monotonic() + 15
    while requests.get(service.url + "/readyz", timeout=15).status_code != 200:
        assert time.monotonic() < deadline, "the Index did not become ready again"
        time.sleep(0.1)
    assert requests.get(token_url, headers=alice, timeout=15).status_code == 200
    assert (
        requests.post(verify_url, json={"token": token}, headers=registry, timeout=15).status_code
        == 200
    )
    assert service.pid == master  # recovered without a restart


def test_a_restarted_database_serves_tokens_at_once_with_statements_prepared_again(
    own_postgres, hung_index
):
    """The token path's prepared statements (adapters/base.py) live in the server's sessions:
    after a restart the workers' new connections prepare them again, and no request fails."""
    service, credential = hung_index
    token_url = service.url + "/v2/token?service=registry.test&scope=repository:alice/app:pull"
    verify_url = service.url + "/internal/v1/tokens/verify"
    alice, registry = _basic("alice", PASSWORD), _basic("registry.test", credential)

    def serve_all() -> None:
        for headers in (alice, {}):  # a credential-cache hit (after the first), anonymous
            issued = requests.get(token_url, headers=headers, timeout=15)
            assert issued.status_code == 200, issued.text
            token = issued.json()["token"]
            verified = requests.post(
                verify_url, json={"token": token}, headers=registry, timeout=15
            )
            assert verified.status_code == 200, verified.text

    serve_all()
    serve_all()  # every statement prepared on the pooled connections
    own_postgres.restart()
    serve_all()
    serve_all()
