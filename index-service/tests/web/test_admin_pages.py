"""The administration pages (/admin...), in a real browser (browser.py): users, registries,
the audit log; and that nobody but an administrator learns they exist."""

from __future__ import annotations

import json
import re
import socket

import pytest
from wharf_index.services import registries

from tests.conftest import PASSWORD

from ..api.conftest import basic
from .browser import Server

ADMIN_PAGES = ("/admin", "/admin/users", "/admin/registries", "/admin/audit")
ADMIN_FORMS = (
    "/admin/users",
    "/admin/users/bob",
    "/admin/registries",
    "/admin/registries/reg.example.test",
    "/admin/registries/reg.example.test/credential",
    "/admin/registries/reg.example.test/remove",
)
EMPTY_ENVELOPE = {"events": []}


def sign_in(page, visits, username: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person does."""
    visits.go("/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))


def client_sign_in(client, username: str) -> None:
    client.get("/signin")
    response = client.post(
        "/signin", data={"username": username, "password": PASSWORD, "csrf_token": _csrf(client)}
    )
    assert response.status_code == 303


def _csrf(client) -> str:
    with client.session_transaction() as session:
        return session["csrf"]


def _row(page, name: str):
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name, exact=True))


def _events(client, name: str, credential: str) -> int:
    response = client.post(
        "/internal/v1/events", json=EMPTY_ENVELOPE, headers=basic(name, credential)
    )
    response.close()
    return response.status_code


def test_admin_creates_a_user_who_signs_in_then_disables_and_promotes_them(
    visits, page, browser, server, users, request
):
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, visits, "carol")
    page.get_by_role("link", name="Administration").click()
    visits.check("admin")
    assert page.get_by_role("heading", level=1).inner_text() == "Administration"
    for name in ("Users", "Invitations", "Registries", "Audit log"):
        assert page.get_by_role("main").get_by_role("link", name=name).first.is_visible()

    page.get_by_role("main").get_by_role("link", name="Users").last.click()
    visits.check("users")
    assert page.locator("h1 + a[href='/admin/invitations']").is_visible()
    page.get_by_label("Username").fill("dave")
    page.get_by_label("Email").fill("dave@example.test")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create user").click()
    page.wait_for_url(re.compile(r"/admin/users\?q=dave$"))
    visits.check("created")
    assert "active" in _row(page, "dave").inner_text()

    # dave signs in, in a browser of their own
    other = browser.new_context(base_url=server.url)
    try:
        from .browser import Visits

        dave_page = other.new_page()
        dave = Visits(dave_page, server.url, request.node.name + "-dave")
        sign_in(dave_page, dave, "dave")
        assert dave_page.get_by_role("button", name="Sign out").is_visible()
        assert dave.go("/admin").status == 404  # not an administrator (yet)

        _row(page, "dave").get_by_role("button", name="Disable").click()
        page.wait_for_url(re.compile(r"/admin/users\?q=dave$"))
        visits.check("disabled")
        assert "disabled" in _row(page, "dave").inner_text()

        # the session ended, and signing in again is refused
        dave.go("/")
        assert dave_page.get_by_role("link", name="Sign in").is_visible()
        dave.go("/signin")
        dave_page.get_by_label("Username").fill("dave")
        dave_page.get_by_label("Password").fill(PASSWORD)
        dave_page.get_by_role("button", name="Sign in").click()
        dave.check("refused")
        assert dave_page.get_by_role("alert").inner_text() == "Wrong username or password."

        _row(page, "dave").get_by_role("button", name="Enable").click()
        page.wait_for_url(re.compile(r"/admin/users\?q=dave$"))
        _row(page, "dave").get_by_role("button", name="Make administrator").click()
        page.wait_for_url(re.compile(r"/admin/users\?q=dave$"))
        visits.check("promoted")
        assert "administrator" in _row(page, "dave").inner_text()

        sign_in(dave_page, dave, "dave")
        assert dave.go("/admin/users").status == 200
    finally:
        other.close()

    _row(page, "dave").get_by_role("button", name="Delete").click()
    page.wait_for_url(re.compile(r"/admin/users\?q=dave$"))
    visits.check("deleted")
    assert page.get_by_text("No user’s name contains “dave”.").is_visible()


def test_a_generated_password_is_shown_once_and_works(visits, page, client, users):
    sign_in(page, visits, "carol")
    visits.go("/admin/users")
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Email").fill("erin@example.test")
    page.get_by_role("button", name="Create user").click()
    visits.check("generated")
    assert page.get_by_role("heading", name="User erin created").is_visible()
    password = page.locator("#generated-password").inner_text()
    assert len(password) >= 20
    assert page.get_by_role("button", name="Copy").is_visible()

    assert client.get("/api/v1/user", headers=basic("erin", password)).status_code == 200
    visits.go("/admin/users?q=erin")
    assert password not in page.content()


def test_user_form_errors_keep_the_input(visits, page, users):
    sign_in(page, visits, "carol")
    visits.go("/admin/users")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Email").fill("someone@example.test")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create user").click()
    visits.check("taken")
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Email").input_value() == "someone@example.test"


def test_users_are_filtered_by_name_and_paged(visits, page, make_user, users):
    for number in range(52):
        make_user(f"paged{number:02d}")
    sign_in(page, visits, "carol")
    visits.go("/admin/users?q=paged")
    first = page.locator("tbody th").all_inner_texts()
    assert first == [f"paged{n:02d}" for n in range(50)]
    page.get_by_role("link", name="Next").click()
    visits.check("page-2")
    second = page.locator("tbody th").all_inner_texts()
    assert second == ["paged50", "paged51"]

    visits.go("/admin/users?q=LIC")
    assert page.locator("tbody th").all_inner_texts() == ["alice"]


def test_registry_credential_is_shown_once_works_and_rotates(visits, page, client, users, sql):
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, visits, "carol")
    visits.go("/admin/registries")
    assert page.get_by_text("No registry yet.").is_visible()
    page.get_by_label("Name", exact=True).fill("reg.example.test")
    page.get_by_label("URL").fill("https://reg.example.test")
    page.get_by_label("Kind").select_option("mirror")
    page.get_by_label("Namespaces").fill("alice, acme")
    page.get_by_role("button", name="Add registry").click()
    visits.check("added")
    assert page.get_by_role("heading", name="Registry reg.example.test added").is_visible()
    first = page.locator("#registry-credential").inner_text()
    assert _events(client, "reg.example.test", first) in (200, 202)
    assert _events(client, "reg.example.test", first + "x") == 401

    page.get_by_role("link", name="Back to registries").click()
    visits.check("listed")
    row = _row(page, "reg.example.test")
    assert "mirror" in row.inner_text() and "acme, alice" in row.inner_text()
    assert "none recently" in row.inner_text()
    assert first not in page.content()

    # the last event the Index applied from it (an envelope's event ids are remembered)
    sql(
        "INSERT INTO processed_events (event_id, registry_id, action, processed_at)"
        " SELECT 'e1', id, 'push', now() - interval '2 hours' FROM registries"
        " WHERE name = 'reg.example.test'"
    )
    visits.go("/admin/registries")
    assert "2 hours ago" in _row(page, "reg.example.test").inner_text()

    _row(page, "reg.example.test").get_by_role("button", name="Rotate credential").click()
    visits.check("rotated")
    second = page.locator("#registry-credential").inner_text()
    assert second != first
    assert _events(client, "reg.example.test", first) == 401
    assert _events(client, "reg.example.test", second) in (200, 202)

    visits.go("/admin/registries")
    _row(page, "reg.example.test").get_by_role("button", name="Remove").click()
    page.wait_for_url(re.compile(r"/admin/registries$"))
    visits.check("removed")
    assert page.get_by_text("No registry yet.").is_visible()
    assert _events(client, "reg.example.test", second) == 401


def _status_app(outbox: dict | None, status: str = "200 OK"):
    """A registry's ``GET /status`` (a WSGI app answering that path only)."""

    def app(environ, start_response):
        if environ["PATH_INFO"] != "/status" or outbox is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"404 page not found"]
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps({"outbox": outbox}).encode()]

    return app


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_registries_show_their_outbox_backlog_asked_over_http(visits, page, uow, users):
    backlog = {"status": "ok", "pending": 3, "pending_capped": False,
               "oldest_at": "20301231T000000.000000Z", "oldest_age_seconds": 4.6}  # fmt: skip
    servers = {
        "busy.test": Server(_status_app(backlog)),
        "calm.test": Server(_status_app({**backlog, "pending": 0, "oldest_age_seconds": 0})),
        "late.test": Server(
            _status_app(
                {**backlog, "pending": 1000, "pending_capped": True, "oldest_age_seconds": 7300}
            )
        ),  # fmt: skip
        "quiet.test": Server(_status_app({"status": "off"})),
        "other.test": Server(_status_app(None)),  # a registry without /status
    }
    try:
        for name, server in servers.items():
            registries.add_registry(uow, name, server.url, "private")
        registries.add_registry(uow, "gone.test", f"http://127.0.0.1:{_closed_port()}", "private")
        sign_in(page, visits, "carol")
        visits.go("/admin/registries")
        visits.check("outboxes")
        shown = {name: _row(page, name).locator("td.outbox").inner_text().strip()
                 for name in [*servers, "gone.test"]}  # fmt: skip
    finally:
        for server in servers.values():
            server.close()
    assert shown == {
        "busy.test": "3 pending, oldest 4 s",
        "calm.test": "nothing pending",
        "late.test": "1,000 or more pending, oldest 2 h",
        "quiet.test": "no outbox (events off)",
        "other.test": "not reported",
        "gone.test": "unreachable",
    }


def test_registry_form_errors_keep_the_input(visits, page, users):
    sign_in(page, visits, "carol")
    visits.go("/admin/registries")
    page.get_by_label("Name", exact=True).fill("Not A Name")
    page.get_by_label("URL").fill("https://reg.example.test")
    page.get_by_role("button", name="Add registry").click()
    visits.check("invalid")
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("URL").input_value() == "https://reg.example.test"


def test_audit_page_shows_actions_newest_first_with_filters(visits, page, client, users):
    carol = basic("carol")
    assert (
        client.post(
            "/api/v1/users",
            json={"username": "dave", "email": "dave@example.test", "password": PASSWORD},
            headers=carol,
        ).status_code
        == 201
    )
    assert (
        client.patch("/api/v1/users/dave", json={"disabled": True}, headers=carol).status_code
        == 200
    )
    added = client.post(
        "/api/v1/registries",
        json={
            "name": "reg.example.test",
            "url": "https://reg.example.test/<b>bold</b>",
            "kind": "mirror",
            "namespaces": ["dave"],
        },
        headers=carol,
    )
    assert added.status_code == 201
    assert (
        client.post("/api/v1/registries/reg.example.test/credential", headers=carol).status_code
        == 200
    )

    sign_in(page, visits, "carol")
    visits.go("/admin/audit")
    actions = page.locator("tbody th").all_inner_texts()
    assert actions[:4] == [
        "registry.rotate_credential",
        "registry.add",
        "user.disable",
        "user.create",
    ]
    registry_row = page.get_by_role("row").filter(has_text="registry.add")
    # the detail is readable, and text (never markup)
    assert "mirror" in registry_row.inner_text()
    assert "https://reg.example.test/<b>bold</b>" in registry_row.inner_text()
    assert page.locator("b", has_text="bold").count() == 0

    page.get_by_label("Action").fill("registry.add")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"action=registry\.add"))
    visits.check("by-action")
    assert page.locator("tbody th").all_inner_texts() == ["registry.add"]

    visits.go("/admin/audit?namespace=dave")
    assert page.locator("tbody th").all_inner_texts() == ["user.create"]
    visits.go("/admin/audit?actor=carol&action=user.disable")
    assert page.locator("tbody th").all_inner_texts() == ["user.disable"]
    visits.go("/admin/audit?actor=alice")
    assert page.get_by_text("No entry matches.").is_visible()

    visits.go("/admin/audit")
    page.get_by_label("From (UTC)").fill("2000-01-01T00:00:00")
    page.get_by_label("Until (UTC)").fill("2000-01-02T00:00:00")
    page.get_by_role("button", name="Filter").click()
    visits.check("long-ago")
    assert page.get_by_text("No entry matches.").is_visible()
    visits.go("/admin/audit?since=2000-01-01T00:00")
    assert len(page.locator("tbody th").all_inner_texts()) >= 4

    response = visits.go("/admin/audit?since=2001-01-01T00:00&until=2000-01-01T00:00")
    assert response.status == 400
    assert "after its start" in page.get_by_role("alert").inner_text()
    response = visits.go("/admin/audit?actor=nobody")
    assert response.status == 404
    assert page.get_by_role("alert").is_visible()


def test_audit_page_is_paged(visits, page, users, sql):
    sql(
        "INSERT INTO audit_log (actor_name, action, target_type, target)"
        " SELECT 'carol', 'test.step', 'step', 'step-' || n FROM generate_series(1, 55) n"
    )
    sign_in(page, visits, "carol")
    visits.go("/admin/audit?action=test.step")
    first = page.locator("tbody td.wrap:nth-child(4)").all_inner_texts()
    assert len(first) == 50 and first[0].endswith("step-55")
    page.get_by_role("link", name="Older entries").click()
    visits.check("older")
    second = page.locator("tbody td.wrap:nth-child(4)").all_inner_texts()
    assert [text.split()[-1] for text in second] == [f"step-{n}" for n in range(5, 0, -1)]
    assert page.get_by_role("link", name="Newest entries").is_visible()


def test_an_administrator_who_disables_themself_is_signed_out(client, users):
    client_sign_in(client, "carol")
    response = client.post(
        "/admin/users/carol", data={"action": "disable", "csrf_token": _csrf(client)}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert client.get("/admin").status_code == 404
    assert client.get("/api/v1/session").status_code == 401


@pytest.mark.parametrize("who", ["alice", None])
def test_everyone_else_gets_not_found(visits, page, client, users, who):
    if who:
        sign_in(page, visits, who)
        client_sign_in(client, who)
    else:
        client.get("/signin")  # a visitor's session holds a CSRF token too
    for path in ADMIN_PAGES:
        response = visits.go(path)
        assert response.status == 404, path
        assert page.get_by_role("heading", name="Not found").is_visible()
        assert client.get(path).status_code == 404, path
    for path in ADMIN_FORMS:
        data = {"csrf_token": _csrf(client), "action": "delete", "username": "x"}
        assert client.post(path, data=data).status_code == 404, path
    assert client.get("/api/v1/users/bob", headers=basic("carol")).status_code == 200
    assert "Administration" not in page.content()


def test_forms_without_the_csrf_token_are_refused(client, users, uow):
    registries.add_registry(uow, "registry.test", "https://registry.test", "sponsor")
    client_sign_in(client, "carol")
    for path, data in (
        ("/admin/users", {"username": "dave", "email": "d@example.test", "password": PASSWORD}),
        ("/admin/users/bob", {"action": "delete"}),
        (
            "/admin/registries",
            {"name": "reg.example.test", "url": "https://r.test", "kind": "mirror"},
        ),
        ("/admin/registries/registry.test", {"kind": "private", "weight": "0", "upstream": ""}),
    ):
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert "form expired" in response.get_data(as_text=True)
    carol = basic("carol")
    assert client.get("/api/v1/users/dave", headers=carol).status_code == 404
    assert client.get("/api/v1/users/bob", headers=carol).status_code == 200
    assert client.get("/api/v1/registries/reg.example.test", headers=carol).status_code == 404
    unchanged = client.get("/api/v1/registries/registry.test", headers=carol).get_json()
    assert (unchanged["kind"], unchanged["weight"]) == ("sponsor", 1)


def test_admin_pages_hold_no_inline_script_or_style(client, users):
    client_sign_in(client, "carol")
    for path in ADMIN_PAGES:
        html = client.get(path).get_data(as_text=True)
        assert "<h1" in html, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " style=" not in html and "<style" not in html, path
        assert re.search(r' on[a-z]+="', html) is None, path


def test_admin_pages_fit_a_phone_in_the_dark(browser, server, request, users):
    from .browser import Visits

    context = browser.new_context(color_scheme="dark", viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        visits = Visits(page, server.url, request.node.name)
        sign_in(page, visits, "carol")
        for path in ADMIN_PAGES:
            visits.go(path)
            assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
    finally:
        context.close()
