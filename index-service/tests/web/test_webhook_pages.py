"""The webhook pages (/r/<name>/-/webhooks, /u/<user>/-/webhooks, /orgs/<org>/-/webhooks) in
a real browser: each action through the page and its effect through the API, the secret
shown once, the delivery log with Redeliver, who may, and CSRF."""

from __future__ import annotations

import re
import uuid

from wharf_index.services import orgs, principals, secret_box

from tests.conftest import PASSWORD

from ..api.conftest import basic
from .test_repository_settings import csrf, sign_in

HOOKS = "/r/alice/app/-/webhooks"
API = "/api/v1/repositories/alice/app/-/webhooks"


def _create(page, url: str = "https://hooks.example/wharf", name: str = "ci") -> None:
    page.get_by_label("Payload URL").fill(url)
    page.get_by_label("Name (optional)").fill(name)
    page.get_by_label("CloudEvents").check()
    page.get_by_label(re.compile("A tag was deleted")).uncheck()
    page.get_by_label(re.compile("Tag pattern")).fill("v*")
    page.get_by_role("button", name="Add webhook").click()


def test_create_shows_the_secret_once(visits, page, client, make_repo, sql, settings):
    make_repo("alice/app")
    sign_in(page, visits, "alice")
    visits.go(HOOKS)
    assert page.get_by_text("No webhooks yet.").is_visible()

    _create(page, url="http://127.0.0.1/")
    visits.check("refused")
    assert "URL" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Payload URL").input_value() == "http://127.0.0.1/"
    assert client.get(API, headers=basic("alice")).json["items"] == []

    _create(page)
    page.wait_for_url(re.compile(r"/r/alice/app/-/webhooks/\d+$"))
    visits.check("created")
    [hook] = client.get(API, headers=basic("alice")).json["items"]
    assert (hook["url"], hook["name"], hook["format"]) == (
        "https://hooks.example/wharf",
        "ci",
        "cloudevents",
    )
    assert (hook["events"], hook["tag_pattern"]) == (["tag_pushed", "repository_deleted"], "v*")

    shown = page.locator("#webhook-secret").inner_text()
    [(sealed,)] = sql("SELECT secret_sealed FROM webhooks WHERE id = %s", (hook["id"],))
    assert secret_box.unseal(settings.secret_key, sealed) == shown
    assert page.get_by_role("button", name="Copy").get_attribute("data-copy") == "webhook-secret"

    page.reload()
    visits.check("reloaded")
    assert page.locator("#webhook-secret").count() == 0
    assert shown not in page.content()


def test_edit_disable_enable_rotate_ping_and_delete(visits, page, client, make_repo, sql, settings):
    make_repo("alice/app")
    created = client.post(API, json={"url": "https://hooks.example/a"}, headers=basic("alice"))
    hook_id = created.json["id"]
    old_secret = created.json["secret"]
    path = f"{HOOKS}/{hook_id}"
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    sign_in(page, visits, "alice")
    visits.go(HOOKS)
    page.get_by_role("link", name="https://hooks.example/a").click()
    visits.check("hook")

    def api():
        return client.get(f"{API}/{hook_id}", headers=basic("alice")).json

    page.get_by_label("Payload URL").fill("http://[::1]:8080/")
    page.get_by_role("button", name="Save webhook").click()
    visits.check("bad-edit")
    assert "URL" in page.get_by_role("region", name="Settings").get_by_role("alert").inner_text()
    assert api()["url"] == "https://hooks.example/a"

    page.get_by_label("Payload URL").fill("https://hooks.example/b")
    page.get_by_role("button", name="Save webhook").click()
    page.wait_for_url(re.compile(path + "$"))
    visits.check("edited")
    assert api()["url"] == "https://hooks.example/b"

    page.get_by_role("button", name="Disable").click()
    page.wait_for_url(re.compile(path + "$"))
    assert api()["active"] is False
    page.get_by_role("button", name="Re-enable").click()
    page.wait_for_url(re.compile(path + "$"))
    visits.check("re-enabled")
    assert api()["active"] is True

    page.get_by_role("button", name="Rotate secret").click()
    page.wait_for_url(re.compile(path + "$"))
    visits.check("rotated")
    new_secret = page.locator("#webhook-secret").inner_text()
    [(sealed,)] = sql("SELECT secret_sealed FROM webhooks WHERE id = %s", (hook_id,))
    assert secret_box.unseal(settings.secret_key, sealed) == new_secret != old_secret

    page.get_by_role("button", name="Ping").click()
    page.wait_for_url(re.compile(path + "$"))
    visits.check("pinged")
    deliveries = client.get(f"{API}/{hook_id}/deliveries", headers=basic("alice")).json
    assert [d["event"] for d in deliveries["items"]] == ["ping"]
    assert page.get_by_role("list", name="Deliveries").get_by_text("ping").is_visible()
    assert page.get_by_role("button", name=re.compile("^Redeliver")).count() == 0  # pending

    page.get_by_role("button", name="Delete webhook").click()
    page.wait_for_url(re.compile(HOOKS + "$"))
    visits.check("deleted")
    assert client.get(API, headers=basic("alice")).json["items"] == []
    assert asked == [
        "Make a new secret? The old one stops signing deliveries.",
        "Delete this webhook with its deliveries?",
    ]


def test_deliveries_show_their_attempts_and_are_redelivered(visits, page, client, make_repo, sql):
    make_repo("alice/app")
    hook_id = client.post(
        API, json={"url": "https://hooks.example/a"}, headers=basic("alice")
    ).json["id"]
    delivery_id = str(uuid.uuid4())
    [(row,)] = sql(
        "INSERT INTO webhook_deliveries (delivery_id, webhook_id, event, body, status, attempts,"
        " callback_token, finished_at) VALUES (%s, %s, 'tag_pushed', '{}', 'failed', 1, %s, now())"
        " RETURNING id",
        (delivery_id, hook_id, uuid.uuid4().hex),
    )
    sql(
        "INSERT INTO webhook_attempts (delivery_id, attempt, status_code, duration_ms, error)"
        " VALUES (%s, 1, 502, 41, '<b>bad gateway</b>')",
        (row,),
    )
    sign_in(page, visits, "alice")
    visits.go(f"{HOOKS}/{hook_id}")
    attempts = page.get_by_role("table", name=f"Attempts of delivery {delivery_id}")
    assert "502" in attempts.inner_text() and "41 ms" in attempts.inner_text()
    assert "<b>bad gateway</b>" in attempts.inner_text()  # text, not markup

    page.get_by_role("button", name=f"Redeliver {delivery_id}").click()
    page.wait_for_url(re.compile(r"#deliveries$"))
    visits.check("redelivered")
    [(status,)] = sql(
        "SELECT status FROM webhook_deliveries WHERE delivery_id = %s", (delivery_id,)
    )
    assert status == "pending"
    assert page.get_by_role("button", name=f"Redeliver {delivery_id}").count() == 0


def test_who_may_reach_the_webhook_pages(visits, page, client, make_repo):
    make_repo("alice/app")
    make_repo("alice/shared")
    client.put(
        "/api/v1/repositories/alice/shared/-/collaborators/bob",
        json={"role": "write"},
        headers=basic("alice"),
    )
    hook_id = client.post(
        API, json={"url": "https://hooks.example/a"}, headers=basic("alice")
    ).json["id"]
    visits.go(HOOKS)
    assert re.search(r"/signin\?next=", page.url)
    sign_in(page, visits, "bob")
    for path, status in (
        (HOOKS, 404),
        (f"{HOOKS}/{hook_id}", 404),
        ("/r/alice/shared/-/webhooks", 403),
        ("/u/alice/-/webhooks", 403),
        ("/orgs/alice/-/webhooks", 404),
        ("/u/bob/-/webhooks", 200),
    ):
        assert visits.go(path).status == status, path
    assert "hooks.example" not in page.content()


def test_namespace_webhooks_of_a_user(visits, page, client, users):
    sign_in(page, visits, "alice")
    visits.go("/u/alice/-/webhooks")
    assert page.get_by_role("heading", name="Webhooks of alice").is_visible()
    _create(page, url="https://hooks.example/ns")
    page.wait_for_url(re.compile(r"/u/alice/-/webhooks/\d+$"))
    visits.check("created")
    assert page.locator("#webhook-secret").is_visible()
    listed = client.get("/api/v1/namespaces/alice/webhooks", headers=basic("alice")).json
    assert [h["url"] for h in listed["items"]] == ["https://hooks.example/ns"]


def test_namespace_webhooks_of_an_organisation(visits, page, client, uow, users):
    alice = principals.principal_for(uow, users["alice"])
    orgs.create_org(uow, "acme", owner="alice", actor=alice)
    sign_in(page, visits, "alice")
    assert visits.go("/u/acme/-/webhooks").status == 404  # an organisation is not a user
    visits.go("/orgs/acme/-/webhooks")
    _create(page, url="https://hooks.example/org")
    page.wait_for_url(re.compile(r"/orgs/acme/-/webhooks/\d+$"))
    visits.check("created")
    listed = client.get("/api/v1/namespaces/acme/webhooks", headers=basic("alice")).json
    assert [h["url"] for h in listed["items"]] == ["https://hooks.example/org"]


def test_webhook_forms_without_the_csrf_token_change_nothing(client, make_repo):
    make_repo("alice/app")
    client.post("/api/v1/session", json={"username": "alice", "password": PASSWORD})
    response = client.post(
        HOOKS, data={"url": "https://hooks.example/", "events": "tag_pushed", "format": "dockerhub"}
    )
    assert response.status_code == 400
    assert client.get(API).json["items"] == []
    response = client.post(
        HOOKS,
        data={"url": "https://hooks.example/", "events": "tag_pushed", "format": "dockerhub",
              "csrf_token": csrf(client)},
    )  # fmt: skip
    assert response.status_code == 303
    [hook] = client.get(API).json["items"]
    response = client.post(f"{HOOKS}/{hook['id']}/delete", data={})
    assert response.status_code == 400
    assert len(client.get(API).json["items"]) == 1
