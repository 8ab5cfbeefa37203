"""Schemathesis against the Index served by gunicorn: the OpenAPI document says exactly what
the server does.

The Index runs for real (gunicorn, the harness's PostgreSQL) with seeded data: an
administrator, users, an organisation with a team, public and private repositories with
tags, comments, stars, a collaborator, tokens, a robot, a registry, an invitation.
Schemathesis (its CLI, in a subprocess) reads ``/api/v1/openapi.json`` and runs the
examples, coverage, fuzzing and stateful phases with every check, first anonymously, then
as the administrator (Basic). Each run is bounded (``--max-examples``, ``--max-time``) and seeded.

Test data the document cannot describe is supplied, never invented: path parameters draw
half of their values from the seeded names (schemathesis "dictionaries"), and list
operations get a valid ``cursor`` (a cursor is signed; a random one is rightly 400).

Failed logins are not throttled here (``INDEX_LOGIN_THROTTLE_FAILURES``, like the cheap
password hashing, is set for the test): schemathesis probes every operation with one fixed
wrong credential and expects 401, which a throttled name and address would turn into the
documented 429 (throttling has tests of its own).

The Index runs with its own gunicorn configuration and worker, so a request line over the
limit gets the documented 414 with the JSON error body, as in production.

A ``before_call`` hook (``schemathesis_hooks.py``) guards the administrator: a request
that would change, delete, disable or demote the administrator's account goes to a
stand-in user instead, so the second run keeps its credentials to the end.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest
import requests
import wharf_index
import wharf_protocol
from wharf_index.api.rest.pagination import encode_cursor
from wharf_index.domain.model import SYSTEM
from wharf_index.services import (
    access_tokens,
    accounts,
    comments,
    events,
    invitations,
    orgs,
    principals,
    registries,
    repositories,
    stars,
    webhooks,
)

from tests.api.conftest import API
from tests.conftest import PASSWORD, SECRET_KEY
from tests.registry_double import manifest_bytes, push_event

pytestmark = pytest.mark.db

ADMIN, STAND_IN = "admin", "bob"
HOOKS = os.path.join(os.path.dirname(__file__), "schemathesis_hooks.py")
SEED = 20240501
#: listing (operationId) -> (cursor kind, key after which the page starts): the views' kinds
CURSORS = {
    "list_users": ("users", ("alice",)),
    "list_orgs": ("orgs", ("acme",)),
    "list_members": ("members", ("alice",)),
    "list_teams": ("teams", ("devs",)),
    "list_team_members": ("team-members", ("alice",)),
    "list_team_repositories": ("team-repositories", ("acme/app",)),
    "list_repositories": ("repositories", ("alice/app",)),
    "search_repositories": ("search", (0.5, "alice/app")),
    "list_tags": ("tags", ("latest",)),
    "list_comments": ("comments", (1,)),
    "list_collaborators": ("collaborators", ("carol",)),
    "list_repository_registries": ("repository-registries", ("registry.test",)),
    "list_registries": ("registries", ("registry.test",)),
    "list_routes": ("routes", ("acme",)),
    "list_tokens": ("tokens", (1,)),
    "list_invitations": ("invitations", (1,)),
    "list_robot_tokens": ("tokens", (1,)),
    "list_robots": ("robots", ("alice+ci",)),
    "list_starred": ("starred", ("alice/app",)),
    "list_audit_entries": ("audit", (1_000_000,)),
    "list_repository_webhooks": ("webhooks", (1,)),
    "list_namespace_webhooks": ("webhooks", (1,)),
    "list_repository_webhook_deliveries": ("webhook-deliveries", (1_000_000,)),
    "list_namespace_webhook_deliveries": ("webhook-deliveries", (1_000_000,)),
}


def _pythonpath() -> str:
    roots = {
        os.path.dirname(os.path.dirname(os.path.abspath(m.__file__)))
        for m in (wharf_index, wharf_protocol)
    }
    return os.pathsep.join(sorted(roots))


def _seed(uow) -> dict[str, list]:
    """Create the data; return the seeded values per path parameter."""
    admin = accounts.create_user(uow, ADMIN, "admin@example.test", PASSWORD, admin=True)
    users = {
        name: accounts.create_user(uow, name, f"{name}@example.test", PASSWORD)
        for name in ("alice", STAND_IN, "carol")
    }
    orgs.create_org(uow, "acme", owner="alice")
    alice = principals.principal_for(uow, users["alice"])
    orgs.create_team(uow, "acme", "devs", "write", actor=alice)
    orgs.add_team_member(uow, "acme", "devs", "carol", actor=alice)
    for name, visibility in (
        ("alice/app", "public"),
        ("alice/private", "private"),
        ("acme/app", "public"),
    ):
        repositories.create_repository(
            uow, alice, name, visibility=visibility, description=f"the {name} image"
        )
    orgs.grant_repository(uow, "acme", "devs", "acme/app", actor=alice)
    repositories.set_collaborator(uow, alice, "alice/private", "carol", "read")
    registry, _ = registries.add_registry(
        uow, "registry.test", "http://127.0.0.1:9", "private", ["acme"], actor=SYSTEM
    )
    events.ingest(
        uow,
        registry,
        [push_event("acme/app", tag, manifest_bytes(tag)) for tag in ("latest", "v1")],
    )
    comment = comments.add_comment(uow, alice, "alice/app", "works for me")
    stars.star(uow, alice, "alice/app")
    pull = [{"repository": "alice/*", "actions": ["pull"]}]
    token, _ = access_tokens.create_access_token(uow, alice, "ci", pull)
    robot, _ = access_tokens.create_robot(uow, alice, "alice", "ci", pull)
    hooks = [
        webhooks.create_webhook(
            uow, alice, webhooks.Owner(kind, owner), url="https://hooks.example.com/wharf"
        )[0]
        for kind, owner in (("repository", "alice/app"), ("namespace", "alice"))
    ]
    pings = [
        webhooks.ping(uow, alice, webhooks.Owner(h.scope, o), h.id)
        for h, o in zip(hooks, ("alice/app", "alice"), strict=True)
    ]
    invitation, _ = invitations.create_invitation(uow, principals.principal_for(uow, admin))
    assert admin.is_admin
    return {
        "username": ["alice", STAND_IN, "carol", robot.username],
        "org": ["acme"],
        "namespace": ["alice", "acme"],
        "team": ["devs"],
        "robot": [robot.username],
        "tag": ["latest", "v1"],
        "name": ["alice/app", "alice/private", "acme/app", "registry.test"],
        "repository": ["acme/app"],
        "token_id": [token.id],
        "invitation_id": [invitation.id],
        "comment_id": [comment.id],
        "webhook_id": [h.id for h in hooks],
        "delivery_id": [p.delivery_id for p in pings],
        "callback_token": ["unknown-token"],
    }


def _toml(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    return json.dumps(value)


def _config(path: str, seeded: dict[str, list], cursors: dict[str, str]) -> None:
    lines = [
        f"seed = {SEED}",
        "",
        "[cache]",
        "enabled = false",
        "",
        "[generation]",
        'database = "none"',
        "",
    ]
    for name, values in seeded.items():
        lines += [f"[dictionaries.{name}]", f"values = {_toml(values)}", ""]
    bindings = {f"path.{n}": {"dictionary": n, "probability": 0.5} for n in seeded}
    lines += ["[parameters]"] + [f"{json.dumps(k)} = {_toml(v)}" for k, v in bindings.items()]
    for operation_id, cursor in cursors.items():
        lines += [
            "",
            "[[operations]]",
            f"include-operation-id = {json.dumps(operation_id)}",
            f"parameters = {_toml({'query.cursor': cursor})}",
        ]
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


@pytest.fixture
def index(service_factory, db_url, uow, app, tmp_path):
    """(base URL, schemathesis config path) of a seeded Index under gunicorn."""
    seeded = _seed(uow)
    with app.test_request_context():
        cursors = {op: encode_cursor(kind, key) for op, (kind, key) in CURSORS.items()}
    config = str(tmp_path / "schemathesis.toml")
    _config(config, seeded, cursors)
    env = {
        "INDEX_DATABASE_URL": db_url,
        "INDEX_SECRET_KEY": SECRET_KEY,
        "INDEX_PASSWORD_SCRYPT_N": "1024",
        "INDEX_DELETION_REDRIVE_INTERVAL": "0",
        "INDEX_LOGIN_THROTTLE_FAILURES": "1000000",
        "INDEX_LOG_FORMAT": "json",
        "PYTHONPATH": _pythonpath(),
    }
    service = service_factory(
        "wharf_index.wsgi:app",
        env,
        "index",
        workers=2,
        threads=4,
        health_path="/readyz",
        worker_class=None,
        extra_args=("-c", "python:wharf_index.gunicorn_conf"),
    )
    return service, config


def _schemathesis(url: str, config: str, seconds: int, *extra: str) -> tuple[int, str]:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        config,
        "--no-color",
        "run",
        f"{url}{API}/openapi.json",
        "--url",
        f"{url}{API}",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--checks",
        "all",
        "--max-examples",
        "10",
        "--max-time",
        str(seconds),
        "--workers",
        "1",
        "--seed",
        str(SEED),
        "--request-timeout",
        "20",
        *extra,
    ]
    env = dict(
        os.environ,
        SCHEMATHESIS_HOOKS=HOOKS,
        WHARF_PROTECTED_USER=ADMIN,
        WHARF_STAND_IN_USER=STAND_IN,
    )
    done = subprocess.run(
        command,
        env=env,
        capture_output=True,
        text=True,
        cwd=os.path.dirname(config),
        timeout=seconds + 120,
    )
    return done.returncode, done.stdout + done.stderr


def test_the_document_is_exact_for_anonymous_callers_and_the_administrator(index):
    service, config = index
    document = requests.get(f"{service.url}{API}/openapi.json", timeout=10).json()
    listings = {
        op["operationId"]
        for item in document["paths"].values()
        for op in item.values()
        if any(p["name"] == "cursor" for p in op["parameters"])
    }
    assert listings == set(CURSORS)  # a new listing needs its cursor here
    started = time.monotonic()
    status, output = _schemathesis(service.url, config, 35)
    assert status == 0, output[-20000:]
    status, output = _schemathesis(service.url, config, 70, "--auth", f"{ADMIN}:{PASSWORD}")
    assert status == 0, output[-20000:]
    admin = requests.get(f"{service.url}{API}/user", auth=(ADMIN, PASSWORD), timeout=10)
    assert admin.status_code == 200 and admin.json()["is_admin"]  # the guard held
    access = [line for line in service.log().splitlines() if '"gunicorn.access"' in line]
    assert len(access) > 2000, len(access)
    assert not [line for line in access if re.search(r'"status": "5[0-9][0-9]"', line)]
    print(f"schemathesis sent {len(access)} requests in {time.monotonic() - started:.0f} s")
