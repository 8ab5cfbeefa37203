"""/api/v1 webhooks: management of repository and namespace webhooks, who may, privacy,
validation, the secret shown once, ping, the delivery log, redelivery and callbacks."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import replace

import pytest
from wharf_index.adapters.unit_of_work import PgUnitOfWork
from wharf_index.app import create_app
from wharf_index.domain import errors
from wharf_index.services import access_tokens, principals, repositories, secret_box, webhooks

from tests.api.conftest import API, basic, bearer
from tests.conftest import SECRET_KEY

HOOKS = f"{API}/repositories/alice/app/-/webhooks"
NS_HOOKS = f"{API}/namespaces/alice/webhooks"
URL = "https://hooks.example.com/wharf"
NET = ipaddress.ip_network("10.0.0.0/8")


@pytest.fixture
def app_repo(make_repo, users):
    return make_repo("alice/app", visibility="public")


def _create(client, body=None, *, path=HOOKS, who="alice"):
    return client.post(path, json={"url": URL, **(body or {})}, headers=basic(who))


def _token(uow, users, *actions, pattern="alice/*"):
    alice = principals.principal_for(uow, users["alice"])
    _, secret = access_tokens.create_access_token(
        uow, alice, "t", [{"repository": pattern, "actions": list(actions)}]
    )
    return bearer(secret)


def test_create_answers_the_secret_once_and_stores_it_sealed(client, app_repo, sql):
    made = _create(client, {"name": "ci", "tag_pattern": "v*"})
    assert made.status_code == 201, made.json
    hook = made.json
    assert hook["secret"] and len(hook["secret"]) >= 43  # token_urlsafe(32)
    assert hook["scope"] == "repository" and hook["repository"] == "alice/app"
    assert hook["namespace"] == "alice" and hook["created_by"] == "alice"
    assert hook["events"] == ["tag_pushed", "tag_deleted", "repository_deleted"]
    assert (hook["format"], hook["active"], hook["tag_pattern"]) == ("dockerhub", True, "v*")
    [(sealed,)] = sql("SELECT secret_sealed FROM webhooks")
    assert hook["secret"] not in sealed
    assert secret_box.unseal(SECRET_KEY, sealed) == hook["secret"]
    for answer in (
        client.get(f"{HOOKS}/{hook['id']}", headers=basic("alice")),
        client.get(HOOKS, headers=basic("alice")),
        client.patch(f"{HOOKS}/{hook['id']}", json={"name": "x"}, headers=basic("alice")),
    ):
        assert answer.status_code == 200
        assert hook["secret"] not in answer.get_data(as_text=True)
        assert "secret" not in json.dumps(answer.json)


def test_a_given_secret_and_rotation(client, app_repo, sql):
    made = _create(client, {"secret": "s" * 16, "format": "cloudevents", "events": ["tag_pushed"]})
    assert made.status_code == 201 and made.json["secret"] == "s" * 16
    assert made.json["events"] == ["tag_pushed"] and made.json["format"] == "cloudevents"
    path = f"{HOOKS}/{made.json['id']}"
    rotated = client.patch(path, json={"rotate_secret": True}, headers=basic("alice"))
    assert rotated.status_code == 200 and rotated.json["secret"] not in ("", "s" * 16)
    [(sealed,)] = sql("SELECT secret_sealed FROM webhooks")
    assert secret_box.unseal(SECRET_KEY, sealed) == rotated.json["secret"]
    given = client.patch(path, json={"secret": "t" * 20}, headers=basic("alice"))
    assert given.json["secret"] == "t" * 20
    short = client.patch(path, json={"secret": "short"}, headers=basic("alice"))
    assert short.status_code == 400 and "secret" in short.json["error"]["detail"]
    both = {"secret": "u" * 20, "rotate_secret": True}  # a given secret wins
    assert client.patch(path, json=both, headers=basic("alice")).json["secret"] == "u" * 20


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://hooks.example.com/"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "http://127.0.0.1:8080/hook"}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "url"),
        ({"url": "http://[::ffff:10.0.0.1]/"}, "url"),
        ({"url": "http://localhost/"}, "url"),
        ({"url": "http://api.localhost:8080/"}, "url"),
        ({"url": "http://h.example.com:99999/"}, "url"),
        ({"url": "https://user:pw@hooks.example.com/"}, "url"),
        ({"events": ["tag_pushed", "pulled"]}, "events"),
        ({"events": []}, "events"),
        ({"tag_pattern": "v 1"}, "tag_pattern"),
        ({"tag_pattern": "a/b"}, "tag_pattern"),
        ({"tag_pattern": "v" * 129}, "tag_pattern"),
        ({"format": "slack"}, "format"),
        ({"secret": "too short"}, "secret"),
        ({"nope": 1}, "nope"),
    ],
)
def test_validation_names_the_field(client, app_repo, sql, body, field):
    answer = _create(client, body)
    assert answer.status_code == 400, answer.json
    assert answer.json["error"]["code"] == "VALIDATION_FAILED"
    assert field in answer.json["error"]["detail"]
    assert sql("SELECT count(*) FROM webhooks") == [(0,)]


@pytest.mark.parametrize(
    "url",
    ["http://10.1.2.3:8080/hook", "https://93.184.216.34/h", "http://[2606:4700::1111]:81/"],
)
def test_the_api_takes_addresses_the_rule_allows(settings, database, users, app_repo, url):
    inside = replace(settings, webhook_allowed_networks=(NET,))
    client = create_app(inside, pool=database).test_client()
    made = _create(client, {"url": url})
    assert made.status_code == 201, made.json
    assert made.json["url"] == url
    refused = _create(client, {"url": "http://192.168.1.1/hook"})
    assert refused.status_code == 400 and "url" in refused.json["error"]["detail"]


def test_the_service_takes_literals_of_allowed_networks_only(uow, users, app_repo):
    """The service's rule is webhook_targets.url_problem with the allowed networks."""
    alice = principals.principal_for(uow, users["alice"])
    owner = webhooks.Owner("repository", "alice/app")
    with pytest.raises(errors.FieldInvalid) as refused:
        webhooks.create_webhook(uow, alice, owner, url="http://10.1.2.3:8080/hook")
    assert refused.value.field == "url"
    inside = PgUnitOfWork(uow.db, replace(uow.config, webhook_allowed_networks=(NET,)))
    made, _ = webhooks.create_webhook(inside, alice, owner, url="http://10.1.2.3:8080/hook")
    assert made.url == "http://10.1.2.3:8080/hook"
    with pytest.raises(errors.FieldInvalid):
        webhooks.create_webhook(inside, alice, owner, url="http://192.168.1.1/hook")


def test_who_may_manage_repository_webhooks(client, uow, users, app_repo):
    hook = _create(client).json
    path = f"{HOOKS}/{hook['id']}"
    outsider = client.get(HOOKS, headers=basic("bob"))  # the repository is public
    assert outsider.status_code == 403 and outsider.json["error"]["code"] == "DENIED"
    alice = principals.principal_for(uow, users["alice"])
    repositories.set_collaborator(uow, alice, "alice/app", "bob", "write")
    assert client.get(path, headers=basic("bob")).status_code == 403  # write, not admin
    assert _create(client, who="bob").status_code == 403
    assert client.get(HOOKS).status_code == 401  # anonymous
    assert client.get(path, headers=basic("carol")).status_code == 200  # site admin
    repositories.set_collaborator(uow, alice, "alice/app", "bob", "admin")
    assert client.get(path, headers=basic("bob")).status_code == 200
    assert client.delete(path, headers=basic("bob")).status_code == 204
    assert client.get(path, headers=basic("alice")).status_code == 404


def test_access_tokens_need_a_scope_naming_admin(client, uow, users, app_repo):
    hook = _create(client).json
    pushing = _token(uow, users, "pull", "push", "delete")
    admin = _token(uow, users, "admin")
    other = _token(uow, users, "admin", pattern="alice/other")
    assert client.get(HOOKS, headers=pushing).status_code == 403
    assert client.get(HOOKS, headers=other).status_code == 403
    assert client.get(HOOKS, headers=admin).json["items"][0]["id"] == hook["id"]
    made = client.post(HOOKS, json={"url": URL}, headers=admin)
    assert made.status_code == 201
    # namespace webhooks are namespace settings: never through an access token
    assert client.get(NS_HOOKS, headers=admin).status_code == 403


def test_a_private_repository_is_unknown_to_outsiders(client, make_repo, users):
    make_repo("alice/secret")
    made = client.post(
        f"{API}/repositories/alice/secret/-/webhooks", json={"url": URL}, headers=basic("alice")
    )
    hook_id = made.json["id"]
    for method, suffix, body in (
        ("get", "", None),
        ("post", "", {"url": URL}),
        ("get", f"/{hook_id}", None),
        ("patch", f"/{hook_id}", {"name": "x"}),
        ("delete", f"/{hook_id}", None),
        ("post", f"/{hook_id}/ping", None),
        ("get", f"/{hook_id}/deliveries", None),
    ):
        answers = [
            getattr(client, method)(
                f"{API}/repositories/alice/{name}/-/webhooks{suffix}",
                json=body,
                headers=basic("bob"),
            )
            for name in ("secret", "ghost")
        ]
        assert [a.status_code for a in answers] == [404, 404], suffix
        codes = {a.json["error"]["code"] for a in answers}
        assert codes == {"REPOSITORY_UNKNOWN"}, suffix


def test_list_pages_and_ids_of_other_owners_are_not_found(client, make_repo, app_repo):
    make_repo("alice/other", visibility="public")
    ids = [_create(client, {"name": f"h{i}"}).json["id"] for i in range(3)]
    elsewhere = _create(client, path=f"{API}/repositories/alice/other/-/webhooks").json["id"]
    first = client.get(f"{HOOKS}?limit=2", headers=basic("alice")).json
    assert [h["id"] for h in first["items"]] == ids[:2] and first["next"]
    rest = client.get(f"{HOOKS}?limit=2&cursor={first['next']}", headers=basic("alice")).json
    assert [h["id"] for h in rest["items"]] == ids[2:] and rest["next"] is None
    foreign = client.get(f"{HOOKS}/{elsewhere}", headers=basic("alice"))
    assert foreign.status_code == 404 and foreign.json["error"]["code"] == "NOT_FOUND"
    assert client.get(f"{NS_HOOKS}/{ids[0]}", headers=basic("alice")).status_code == 404


def test_update_and_reenable(client, app_repo, sql, uow):
    hook = _create(client).json
    path = f"{HOOKS}/{hook['id']}"
    sql(
        "UPDATE webhooks SET active = false, disabled_reason = '10 failures in a row',"
        " consecutive_failures = 10"
    )
    seen = client.get(path, headers=basic("alice")).json
    assert (seen["active"], seen["disabled_reason"]) == (False, "10 failures in a row")
    change = {
        "active": True,
        "url": "https://other.example.com/x",
        "events": ["tag_deleted"],
        "tag_pattern": "release-*",
        "format": "cloudevents",
        "name": "renamed",
    }
    updated = client.patch(path, json=change, headers=basic("alice")).json
    assert {k: updated[k] for k in change} == change
    assert (updated["disabled_reason"], updated["consecutive_failures"]) == ("", 0)
    assert client.patch(path, json={}, headers=basic("alice")).status_code == 400
    bad = client.patch(path, json={"url": "http://localhost/"}, headers=basic("alice"))
    assert bad.status_code == 400 and bad.json["error"]["detail"] == {
        "url": ["the URL points at a loopback, private, link-local or reserved address"]
    }
    actions = sql("SELECT action FROM audit_log WHERE action LIKE 'webhook.%' ORDER BY id")
    assert actions == [("webhook.create",), ("webhook.update",)]
    assert client.delete(path, headers=basic("alice")).status_code == 204
    assert sql("SELECT action FROM audit_log ORDER BY id DESC LIMIT 1") == [("webhook.delete",)]


def test_namespace_webhooks(client, users, uow, make_repo, sql):
    made = _create(client, path=NS_HOOKS)
    assert made.status_code == 201 and made.json["scope"] == "namespace"
    assert made.json["repository"] is None
    assert _create(client, path=NS_HOOKS, who="bob").status_code == 403
    assert client.get(NS_HOOKS).status_code == 401
    assert client.get(NS_HOOKS, headers=basic("carol")).status_code == 200
    missing = client.get(f"{API}/namespaces/nobody/webhooks", headers=basic("alice"))
    assert missing.status_code == 404 and missing.json["error"]["code"] == "NAMESPACE_UNKNOWN"
    # an organisation: its owners only
    from wharf_index.services import orgs

    alice = principals.principal_for(uow, users["alice"])
    orgs.create_org(uow, "acme", owner="alice", actor=alice)
    orgs.add_member(
        uow, "acme", "bob", owner=False, actor=principals.principal_for(uow, users["alice"])
    )
    org_hooks = f"{API}/namespaces/acme/webhooks"
    assert _create(client, path=org_hooks).status_code == 201
    assert _create(client, path=org_hooks, who="bob").status_code == 403
    listed = client.get(NS_HOOKS, headers=basic("alice")).json["items"]
    assert [h["id"] for h in listed] == [made.json["id"]]
    ping = client.post(f"{NS_HOOKS}/{made.json['id']}/ping", headers=basic("alice"))
    assert ping.status_code == 202 and ping.json["event"] == "ping"
    [(body,)] = sql("SELECT body FROM webhook_deliveries")
    payload = json.loads(body)
    assert payload["repository"] is None and payload["event"] == "ping"


def test_ping_queues_a_delivery_and_the_log_shows_it(client, app_repo, sql):
    hook = _create(client).json
    path = f"{HOOKS}/{hook['id']}"
    ping = client.post(f"{path}/ping", headers=basic("alice"))
    assert ping.status_code == 202
    delivery = ping.json
    assert (delivery["event"], delivery["status"], delivery["attempts"]) == ("ping", "pending", [])
    assert delivery["callback"] is None and delivery["finished_at"] is None
    [(body, token, status)] = sql("SELECT body, callback_token, status FROM webhook_deliveries")
    payload = json.loads(body)
    assert payload["delivery_id"] == delivery["delivery_id"] and payload["event"] == "ping"
    assert payload["repository"]["repo_name"] == "alice/app"
    assert payload["callback_url"].endswith(f"/api/v1/webhooks/callbacks/{token}")
    assert len(token) >= 43 and status == "pending"
    log = client.get(f"{path}/deliveries", headers=basic("alice")).json
    assert [d["delivery_id"] for d in log["items"]] == [delivery["delivery_id"]]


def test_delivery_log_newest_first_with_attempts_and_paging(client, app_repo, sql):
    hook = _create(client).json
    path = f"{HOOKS}/{hook['id']}"
    ids = [client.post(f"{path}/ping", headers=basic("alice")).json["id"] for _ in range(3)]
    sql(
        "INSERT INTO webhook_attempts (delivery_id, attempt, status_code, duration_ms, error,"
        " response) VALUES (%s, 1, NULL, 5000, 'timed out', ''), (%s, 2, 200, 12, '', 'ok')",
        (ids[0], ids[0]),
    )
    first = client.get(f"{path}/deliveries?limit=2", headers=basic("alice")).json
    assert [d["id"] for d in first["items"]] == [ids[2], ids[1]]
    rest = client.get(f"{path}/deliveries?cursor={first['next']}", headers=basic("alice")).json
    [oldest] = rest["items"]
    assert oldest["id"] == ids[0] and rest["next"] is None
    assert [(a["attempt"], a["status_code"], a["error"]) for a in oldest["attempts"]] == [
        (2, 200, ""),
        (1, None, "timed out"),
    ]


def test_redeliver_a_finished_delivery(client, app_repo, sql):
    hook = _create(client).json
    path = f"{HOOKS}/{hook['id']}"
    delivery = client.post(f"{path}/ping", headers=basic("alice")).json
    redo = f"{path}/deliveries/{delivery['delivery_id']}/redeliver"
    pending = client.post(redo, headers=basic("alice"))
    assert pending.status_code == 409
    sql(
        "UPDATE webhook_deliveries SET status = 'failed', attempts = 1, finished_at = now(),"
        " next_attempt_at = now() + interval '1 day'"
    )
    sql(
        "INSERT INTO webhook_attempts (delivery_id, attempt, status_code, duration_ms)"
        " VALUES (%s, 1, 500, 3)",
        (delivery["id"],),
    )
    [(body_before,)] = sql("SELECT body FROM webhook_deliveries")
    again = client.post(redo, headers=basic("alice"))
    assert again.status_code == 202
    assert again.json["status"] == "pending" and again.json["finished_at"] is None
    assert again.json["delivery_id"] == delivery["delivery_id"]
    assert [a["attempt"] for a in again.json["attempts"]] == [1]  # the log goes on
    rows = sql("SELECT body, attempts, next_attempt_at <= now() FROM webhook_deliveries")
    assert rows == [(body_before, 1, True)]
    for bad in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        missing = client.post(f"{path}/deliveries/{bad}/redeliver", headers=basic("alice"))
        assert missing.status_code == 404


def test_callback_records_the_receivers_result(client, app_repo, sql):
    hook = _create(client).json
    client.post(f"{HOOKS}/{hook['id']}/ping", headers=basic("alice"))
    [(body,)] = sql("SELECT body FROM webhook_deliveries")
    callback = json.loads(body)["callback_url"]
    path = callback[callback.index("/api/v1/") :]
    result = {
        "state": "success",
        "description": "387 tests PASSED",
        "context": "Continuous integration by Acme CI",
        "target_url": "https://ci.acme.com/results/afd339c1c3d27",
    }
    answer = client.post(path, json=result)  # no credentials: the token is the credential
    assert answer.status_code == 204
    log = client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=basic("alice")).json
    recorded = log["items"][0]["callback"]
    assert {k: recorded[k] for k in result} == result and recorded["at"]
    for bad in (
        {"state": "done"},
        {"state": "success", "target_url": "javascript:alert(1)"},
        {"state": "success", "description": "x" * 1001},
        {"state": "success", "extra": 1},
        {},
    ):
        refused = client.post(path, json=bad)
        assert refused.status_code == 400, bad
        assert refused.json["error"]["code"] == "VALIDATION_FAILED"
    unknown = client.post(f"{API}/webhooks/callbacks/{'x' * 43}", json={"state": "error"})
    assert unknown.status_code == 404
    too_long = client.post(f"{API}/webhooks/callbacks/{'x' * 200}", json={"state": "error"})
    assert too_long.status_code == 404
