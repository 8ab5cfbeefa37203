"""Who may change what through the API: every mutating route x every kind of caller.

The world: organisation ``acme`` (owners alice and carol) with the private repository
``acme/app`` (dave a read collaborator, team ``devs`` holding it, one comment by alice).
The callers:

- ``pull``, ``push``, ``pullpush``: alice's access tokens on ``acme/*`` with those actions
  (Bearer, Bearer, Basic ``alice:<token>``);
- ``robot``: ``acme+ci`` with ``acme/*:pull,push`` (Basic, as ``docker login`` sends it);
- ``admin_token``: alice's token on ``acme/*`` naming only ``admin``;
- ``outsider``: bob with his password; ``owner``: alice with her password.

Administration (visibility, description, README, collaborators, deletion of the repository or a tag,
immutable tags and retention, team grants, webhooks, namespace settings) needs a password or
a session, or a token scope naming ``admin``; registry
actions (``*`` included) never administer. Starring and commenting are the person's own
acts: no access token does them. Outsiders get the answer of a repository that does not
exist (404) wherever the repository is private.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg2
import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from wharf_index.services import (
    access_tokens,
    comments,
    invitations,
    orgs,
    principals,
    repositories,
    webhooks,
)

from tests.api.conftest import API, basic, bearer
from tests.conftest import PASSWORD

CALLERS = ("pull", "push", "pullpush", "robot", "admin_token", "outsider", "owner")
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
SCOPES = [{"repository": "acme/*", "actions": ["pull"]}]
NEW_PASSWORD = "another long password"
UUID = "6f1c2a8e-2b7e-4c55-9d47-0f4bb2b7a001"


def _row(method: str, path: str, body: dict | None, *statuses: int):
    assert len(statuses) == len(CALLERS)
    return method, path, body, dict(zip(CALLERS, statuses, strict=True))


REPO = "/repositories/acme/app"
TEAM = "/orgs/acme/teams/devs"
NS_HOOKS = "/namespaces/acme/webhooks"
HOOK_URL = "https://hooks.example.com/wharf"
# fmt: off
TABLE = [
    #     method    path                                body
    #         pull push p+p robot admin_token outsider owner
    _row("PATCH", REPO, {"visibility": "public"},
         403, 403, 403, 403, 200, 404, 200),
    _row("PATCH", REPO, {"description": "new words"},
         403, 403, 403, 403, 200, 404, 200),
    _row("PATCH", REPO, {"readme": "# New\n\nwords"},
         403, 403, 403, 403, 200, 404, 200),
    _row("DELETE", REPO, None,
         403, 403, 403, 403, 202, 404, 202),
    _row("DELETE", f"{REPO}/-/tags/v1", None,
         403, 403, 403, 403, 204, 404, 204),
    _row("PUT", f"{REPO}/-/immutable-tags", {"patterns": ["v*"]},
         403, 403, 403, 403, 200, 404, 200),
    _row("PUT", f"{REPO}/-/retention", {"keep_newest": 5, "max_age_days": None},
         403, 403, 403, 403, 200, 404, 200),
    _row("PUT", f"{REPO}/-/collaborators/dave", {"role": "admin"},
         403, 403, 403, 403, 204, 404, 204),
    _row("DELETE", f"{REPO}/-/collaborators/dave", None,
         403, 403, 403, 403, 204, 404, 204),
    _row("PATCH", f"{REPO}/-/comments/{{comment}}", {"body": "edited"},  # alice's own comment
         403, 403, 403, 403, 200, 404, 200),
    _row("DELETE", f"{REPO}/-/comments/{{comment}}", None,  # alice's own comment
         403, 403, 403, 403, 204, 404, 204),
    _row("PUT", f"{REPO}/-/stars", None,
         403, 403, 403, 403, 403, 404, 200),
    _row("DELETE", f"{REPO}/-/stars", None,
         403, 403, 403, 403, 403, 404, 200),
    _row("POST", f"{REPO}/-/comments", {"body": "hello"},
         403, 403, 403, 403, 403, 404, 201),
    _row("POST", "/repositories", {"name": "acme/new"},
         403, 201, 201, 201, 403, 403, 201),
    _row("POST", "/repositories", {"name": "acme/new", "visibility": "public"},
         403, 403, 403, 403, 403, 403, 201),
    _row("POST", "/repositories", {"name": "acme/new", "description": "words"},
         403, 403, 403, 403, 403, 403, 201),
    _row("PATCH", "/namespaces/acme", {"default_visibility": "public"},
         403, 403, 403, 403, 403, 403, 204),
    _row("PUT", "/namespaces/acme/quota", {"limit": 1 << 30},  # administrators only
         403, 403, 403, 403, 403, 403, 403),
    _row("DELETE", "/namespaces/acme/quota", None,
         403, 403, 403, 403, 403, 403, 403),
    _row("PUT", f"{TEAM}/repositories/acme/app", None,
         403, 403, 403, 403, 403, 403, 204),
    _row("DELETE", f"{TEAM}/repositories/acme/app", None,
         403, 403, 403, 403, 403, 403, 204),
    _row("PUT", f"{TEAM}/members/dave", None,
         403, 403, 403, 403, 403, 403, 204),
    _row("DELETE", f"{TEAM}/members/dave", None,
         403, 403, 403, 403, 403, 403, 204),
    _row("PATCH", TEAM, {"role": "admin"},
         403, 403, 403, 403, 403, 403, 200),
    _row("DELETE", TEAM, None,
         403, 403, 403, 403, 403, 403, 204),
    _row("POST", "/orgs/acme/teams", {"name": "ops", "role": "read"},
         403, 403, 403, 403, 403, 403, 201),
    _row("PUT", "/orgs/acme/members/erin", {},
         403, 403, 403, 403, 403, 403, 204),
    _row("DELETE", "/orgs/acme/members/dave", None,
         403, 403, 403, 403, 403, 403, 204),
    _row("POST", "/orgs", {"name": "neworg"},
         403, 403, 403, 403, 403, 201, 201),
    _row("POST", "/tokens", {"name": "t", "scopes": SCOPES},
         403, 403, 403, 403, 403, 201, 201),
    _row("DELETE", "/tokens/{token}", None,  # alice's pull token
         403, 403, 403, 403, 403, 404, 204),
    _row("POST", f"{REPO}/-/webhooks", {"url": HOOK_URL},
         403, 403, 403, 403, 201, 404, 201),
    _row("PATCH", f"{REPO}/-/webhooks/{{hook}}", {"name": "renamed"},
         403, 403, 403, 403, 200, 404, 200),
    _row("DELETE", f"{REPO}/-/webhooks/{{hook}}", None,
         403, 403, 403, 403, 204, 404, 204),
    _row("POST", f"{REPO}/-/webhooks/{{hook}}/ping", None,
         403, 403, 403, 403, 202, 404, 202),
    _row("POST", f"{REPO}/-/webhooks/{{hook}}/deliveries/{{delivery}}/redeliver", None,
         403, 403, 403, 403, 202, 404, 202),
    _row("POST", f"{NS_HOOKS}", {"url": HOOK_URL},
         403, 403, 403, 403, 403, 403, 201),
    _row("PATCH", f"{NS_HOOKS}/{{ns_hook}}", {"name": "renamed"},
         403, 403, 403, 403, 403, 403, 200),
    _row("DELETE", f"{NS_HOOKS}/{{ns_hook}}", None,
         403, 403, 403, 403, 403, 403, 204),
    _row("POST", f"{NS_HOOKS}/{{ns_hook}}/ping", None,
         403, 403, 403, 403, 403, 403, 202),
    _row("POST", f"{NS_HOOKS}/{{ns_hook}}/deliveries/{{ns_delivery}}/redeliver", None,
         403, 403, 403, 403, 403, 403, 202),
    _row("POST", "/namespaces/acme/robots", {"name": "bot", "scopes": SCOPES},
         403, 403, 403, 403, 403, 403, 201),
    _row("POST", "/robots/acme+ci/tokens", {"name": "t", "scopes": SCOPES},
         403, 403, 403, 403, 403, 403, 201),
    _row("PUT", "/users/alice/password", {"old_password": PASSWORD, "password": NEW_PASSWORD},
         403, 403, 403, 403, 403, 403, 204),
    _row("PATCH", "/user", {"email": "new@x.test", "password": PASSWORD},  # the caller's own
         403, 403, 403, 403, 403, 200, 200),
    _row("DELETE", "/users/alice", None,
         403, 403, 403, 403, 403, 403, 204),
    _row("POST", "/users", {"username": "zed", "email": "zed@x.test", "password": NEW_PASSWORD},
         403, 403, 403, 403, 403, 403, 403),
    _row("PATCH", "/users/bob", {"disabled": True},
         403, 403, 403, 403, 403, 403, 403),
    _row("POST", "/registries", {"name": "r.test", "url": "http://r.test", "kind": "private"},
         403, 403, 403, 403, 403, 403, 403),
    _row("POST", "/registries/r.test/credential", None,
         403, 403, 403, 403, 403, 403, 403),
    _row("PATCH", "/registries/r.test", {"catalog": "filtered"},
         403, 403, 403, 403, 403, 403, 403),
    _row("DELETE", "/registries/r.test", None,
         403, 403, 403, 403, 403, 403, 403),
    _row("PUT", "/namespaces/acme/route", {"registries": []},  # administrators only
         403, 403, 403, 403, 403, 403, 403),
    _row("DELETE", "/namespaces/acme/route", None,
         403, 403, 403, 403, 403, 403, 403),
    _row("POST", "/invitations", {"email": "zed@x.test"},  # administrators only
         403, 403, 403, 403, 403, 403, 403),
    _row("DELETE", "/invitations/{invitation}", None,
         403, 403, 403, 403, 403, 403, 403),
]
# fmt: on
# Signing in and out are not resource changes: anyone may call them. A webhook receiver's
# callback carries no credentials: its URL's token is one (tests/api/test_webhooks.py).
NOT_IN_TABLE = {
    ("POST", "api.create_session"),
    ("DELETE", "api.delete_session"),
    ("POST", "api.post_webhook_callback"),
}


@pytest.fixture
def world(uow, make_user, _shared_db):
    """build() -> the organisation, repository and callers of the module docstring on an
    emptied database: (caller -> headers, the ids the table's paths name)."""
    url, emptying = _shared_db

    def build():
        conn = psycopg2.connect(url)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(emptying)
        finally:
            conn.close()
        made = _populate(uow, make_user)
        conn = psycopg2.connect(url)  # the pings were delivered: they may be redelivered
        try:
            with conn, conn.cursor() as cur:
                cur.execute(
                    "UPDATE webhook_deliveries SET status = 'delivered', finished_at = now()"
                )
        finally:
            conn.close()
        return made

    return build


def _populate(uow, make_user):
    made = {
        name: make_user(name, admin=name == "carol")
        for name in ("alice", "bob", "carol", "dave", "erin")
    }
    alice = principals.principal_for(uow, made["alice"])
    orgs.create_org(uow, "acme", owner="alice", actor=alice)
    alice = principals.principal_for(uow, made["alice"])  # now an owner of acme
    orgs.add_member(uow, "acme", "carol", owner=True, actor=alice)
    repositories.create_repository(uow, alice, "acme/app", visibility="private")
    repositories.set_collaborator(uow, alice, "acme/app", "dave", "read")
    orgs.create_team(uow, "acme", "devs", "write", actor=alice)
    orgs.add_team_member(uow, "acme", "devs", "dave", actor=alice)
    orgs.grant_repository(uow, "acme", "devs", "acme/app", actor=alice)
    comment = comments.add_comment(uow, alice, "acme/app", "first")
    with uow:  # a recorded tag v1, as a registry's push event leaves it (no registry holds it)
        repository = uow.repositories.get("acme/app")
        manifest = uow.content.put_manifest(
            repository.id,
            "sha256:" + "a" * 64,
            media_type="application/vnd.oci.image.manifest.v1+json",
            size=100,
            config_digest=None,
            layers=[],
            pushed_by="alice",
            pushed_at=datetime.now(UTC),
            registry_id=None,
        )
        uow.content.put_tag(
            repository.id, "v1", manifest, pushed_by="alice", pushed_at=datetime.now(UTC)
        )
    hooks, deliveries = {}, {}
    for kind, owner in (("repository", "acme/app"), ("namespace", "acme")):
        hook, _ = webhooks.create_webhook(uow, alice, webhooks.Owner(kind, owner), url=HOOK_URL)
        hooks[kind] = hook.id
        ping = webhooks.ping(uow, alice, webhooks.Owner(kind, owner), hook.id)
        deliveries[kind] = ping.delivery_id

    def token(*actions: str):
        return access_tokens.create_access_token(
            uow, alice, "t", [{"repository": "acme/*", "actions": list(actions)}]
        )

    pull, pull_secret = token("pull")
    invitation, _ = invitations.create_invitation(uow, principals.principal_for(uow, made["carol"]))
    _, robot_secret = access_tokens.create_robot(
        uow, alice, "acme", "ci", [{"repository": "acme/*", "actions": ["pull", "push"]}]
    )
    headers = {
        "pull": bearer(pull_secret),
        "push": bearer(token("push")[1]),
        "pullpush": basic("alice", token("pull", "push")[1]),
        "robot": basic("acme+ci", robot_secret),
        "admin_token": bearer(token("admin")[1]),
        "outsider": basic("bob"),
        "owner": basic("alice"),
    }
    return headers, {
        "comment": comment.id,
        "token": pull.id,
        "invitation": invitation.id,
        "hook": hooks["repository"],
        "delivery": deliveries["repository"],
        "ns_hook": hooks["namespace"],
        "ns_delivery": deliveries["namespace"],
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    TABLE,
    ids=[f"{m} {p} {sorted(b or {})}" for m, p, b, _ in TABLE],
)
def test_who_may_change_what(client, world, method, path, body, expected):
    """One row of the table: each caller on a fresh world (a success changes it)."""
    wrong, built = {}, None
    for caller in CALLERS:
        headers, ids = built = built or world()
        response = client.open(
            f"{API}{path.format(**ids)}", method=method, json=body, headers=headers[caller]
        )
        if response.status_code != expected[caller]:
            wrong[caller] = (response.status_code, response.get_json())
        if response.status_code < 400:
            built = None
        else:
            assert set(response.json["error"]) >= {"code", "message"}
    assert not wrong, wrong


def test_the_table_covers_every_mutating_route(app):
    adapter = app.url_map.bind("index.test")
    covered = set()
    for method, path, _, _ in TABLE:
        ids = dict(comment=1, token=1, invitation=1, hook=1, ns_hook=1)
        ids |= dict(delivery=UUID, ns_delivery=UUID)
        endpoint, _ = adapter.match(f"{API}{path.format(**ids)}", method=method)
        covered.add((method, endpoint))
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API):
            routes |= {(method, rule.endpoint) for method in rule.methods & MUTATING}
    assert routes - NOT_IN_TABLE == covered
    for method, endpoint in NOT_IN_TABLE:  # still routes: the exclusion is not stale
        assert (method, endpoint) in routes
    with pytest.raises((NotFound, MethodNotAllowed)):
        adapter.match(f"{API}/nothing-here", method="PATCH")


def test_a_scope_naming_admin_administers_only_where_it_matches(client, users, uow):
    alice = principals.principal_for(uow, users["alice"])
    repositories.create_repository(uow, alice, "alice/app")
    repositories.create_repository(uow, alice, "alice/other")
    _, secret = access_tokens.create_access_token(
        uow,
        alice,
        "t",
        [{"repository": "alice/app", "actions": ["admin"]}, {"repository": "*", "actions": ["*"]}],
    )
    change = {"visibility": "public"}
    assert (
        client.patch(
            f"{API}/repositories/alice/app", json=change, headers=bearer(secret)
        ).status_code
        == 200
    )
    refused = client.patch(f"{API}/repositories/alice/other", json=change, headers=bearer(secret))
    assert refused.status_code == 403  # "*" on every repository is not admin
    detail = client.get(f"{API}/repositories/alice/other", headers=bearer(secret)).json
    assert detail["permissions"] == {"pull": True, "push": True, "delete": True, "admin": False}


def test_admin_is_accepted_in_token_scopes_and_listed(client, users):
    body = {"name": "ops", "scopes": [{"repository": "alice/*", "actions": ["pull", "admin"]}]}
    created = client.post(f"{API}/tokens", json=body, headers=basic("alice"))
    assert created.status_code == 201, created.json
    [scope] = created.json["token"]["scopes"]
    assert scope["repository"] == "alice/*" and sorted(scope["actions"]) == ["admin", "pull"]
    bad = {"name": "x", "scopes": [{"repository": "alice/*", "actions": ["owner"]}]}
    assert client.post(f"{API}/tokens", json=bad, headers=basic("alice")).status_code == 400
