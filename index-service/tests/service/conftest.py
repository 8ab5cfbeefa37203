"""Fixtures for the Docker-facing and registry-facing surfaces (/v2/token, /internal, /v1).

- ``users``: alice, bob (plain users), carol (administrator); their password is PASSWORD.
- ``registry``: a registry "registry.test" and its credential; ``registry_auth`` its Basic
  header; ``index_client``: wharf_protocol's IndexClient talking to the test app in-process
  (``make_index_client(name, credential)``: the same for another registry).
- ``make_repo(name, visibility=...)``; ``get_token(...)``; ``claims_of(token)``.
- ``served_index(**env)``: the Index under gunicorn as ``wharf-index serve`` runs it.
- ``hooks``: webhook and delivery rows by SQL; ``receiver``: a webhook receiver on
  127.0.0.1 checking signatures (``SigningReceiver`` of tests/service/webhook_fixtures.py).
"""

from __future__ import annotations

import base64
import io

import pytest
import requests
import responses
from wharf_index.domain.model import SYSTEM
from wharf_index.services import principals, registries, repositories
from wharf_index.settings import Settings
from wharf_protocol.client import IndexClient

from tests.conftest import PASSWORD, SECRET_KEY
from tests.registry_double import FakeRegistry, verifier_for
from tests.service.webhook_fixtures import Hooks, SigningReceiver

REGISTRY = "registry.test"
REGISTRY_URL = "http://registry.test:5000"


def basic(username: str, secret: str = PASSWORD) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture
def users(make_user):
    return {name: make_user(name, admin=name == "carol") for name in ("alice", "bob", "carol")}


@pytest.fixture
def principal(uow, users):
    """principal("alice") -> the password Principal of a user."""
    return lambda name: principals.principal_for(uow, users[name])


@pytest.fixture
def make_repo(uow, principal):
    def make(full_name: str, visibility: str = "private", description: str = ""):
        owner = principal(full_name.split("/")[0])
        return repositories.create_repository(
            uow, owner, full_name, visibility=visibility, description=description
        )

    return make


@pytest.fixture
def registry(uow):
    """(Registry, credential) of "registry.test" at http://registry.test:5000."""
    return registries.add_registry(uow, REGISTRY, REGISTRY_URL, "sponsor", actor=SYSTEM)


@pytest.fixture
def registry_auth(registry):
    return basic(REGISTRY, registry[1])


@pytest.fixture
def get_token(client, registry):
    """get_token(*scopes, user=None, secret=PASSWORD, **params) -> test response."""

    def get(*scopes: str, user: str | None = None, secret: str = PASSWORD, **params):
        query = {"service": REGISTRY, **params, "scope": list(scopes)}
        headers = basic(user, secret) if user else {}
        return client.get("/v2/token", query_string=query, headers=headers)

    return get


@pytest.fixture
def claims_of(settings, database):
    return verifier_for(settings, database).verify


def access_of(claims) -> dict[str, set[str]]:
    """{"repository:<name>": {actions}} of a token's claims."""
    return {f"{s.type}:{s.name}": set(s.actions) for s in claims.access}


class _FlaskAdapter(requests.adapters.BaseAdapter):
    """Send requests' calls to a Flask test client (no sockets)."""

    def __init__(self, client) -> None:
        super().__init__()
        self.client = client

    def send(self, request, **kwargs):
        path = request.path_url
        result = self.client.open(
            path, method=request.method, data=request.body, headers=dict(request.headers)
        )
        response = requests.Response()
        response.status_code = result.status_code
        response.headers.update(result.headers)
        response.raw = io.BytesIO(result.get_data())
        response.url, response.request = request.url, request
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def make_index_client(client):
    """make_index_client(name, credential) -> an IndexClient of that registry (in-process)."""
    opened = []

    def make(name: str, credential: str) -> IndexClient:
        session = requests.Session()
        session.mount("http://index.test", _FlaskAdapter(client))
        opened.append(
            IndexClient("http://index.test", name, credential, retries=0, session=session)
        )
        return opened[-1]

    yield make
    for index in opened:
        index.close()


@pytest.fixture
def index_client(make_index_client, registry):
    return make_index_client(REGISTRY, registry[1])


@pytest.fixture
def fake(settings, database, registry):
    """The registry "registry.test" played by ``responses`` (tests.registry_double)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeRegistry(mock, REGISTRY_URL, verifier_for(settings, database), REGISTRY)


@pytest.fixture
def served_index(service_factory, db_url):
    """Factory ``(**env) -> GunicornService``: the Index as ``wharf-index serve`` runs it.

    Its gunicorn configuration (worker class, limits, timeouts, no control socket) and the
    default workers and threads, on the test database; HTTPS with ``tls`` (a
    wharf_testing.tls.TestTLS).
    """

    def start(tls=None, **extra: str):
        env = {
            "INDEX_DATABASE_URL": db_url,
            "INDEX_SECRET_KEY": SECRET_KEY,
            "INDEX_LOG_LEVEL": "WARNING",
            "INDEX_DELETION_REDRIVE_INTERVAL": "0",
            **(tls.env("INDEX_HTTP_TLS") if tls else {}),
            **extra,
        }
        return service_factory(
            "wharf_index.wsgi:app",
            env,
            "index-served",
            tls=tls,
            workers=Settings.workers,
            threads=Settings.threads,
            worker_class=None,
            extra_args=("-c", "python:wharf_index.gunicorn_conf"),
        )

    return start


@pytest.fixture
def hooks(sql):
    """Webhook and delivery rows by SQL (tests/service/webhook_fixtures.py)."""
    return Hooks(sql)


@pytest.fixture
def receiver():
    """A started ``SigningReceiver`` on 127.0.0.1, stopped (held requests released) after."""
    started = SigningReceiver().start()
    yield started
    started.stop()
