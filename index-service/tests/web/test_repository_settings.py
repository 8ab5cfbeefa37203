"""The repository settings page (/r/<name>/-/settings) in a real browser: every setting
changed through its form and read back through the API or the services, who may reach
the page, and the deletions (tag, repository) against the registry double."""

from __future__ import annotations

import re

import pytest
from wharf_index.context import EXTENSION
from wharf_index.services import events, orgs, principals, tag_rules
from wharf_index.services.repositories import MAX_README

from tests.conftest import PASSWORD
from tests.registry_double import make_agent, manifest_bytes, push_event
from tests.service.conftest import fake, registry  # noqa: F401 - fixtures

from ..api.conftest import basic

SETTINGS = "/r/alice/app/-/settings"


def sign_in(page, visits, username: str) -> None:
    visits.go("/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))


def csrf(client) -> str:
    with client.session_transaction() as session:
        return session["csrf"]


@pytest.fixture
def agent(app, settings, database):
    """The app's registry agent signing with the Index's key, retrying without sleeping."""
    made = make_agent(settings, database)
    app.extensions[EXTENSION].agent = made
    return made


@pytest.fixture
def principal_of(uow, users):
    """principal_of("alice") -> the password Principal of a user."""
    return lambda name: principals.principal_for(uow, users[name])


@pytest.fixture
def pushed(uow, registry, make_repo, fake):  # noqa: F811 - fixtures
    """alice/app (private) with tags 1, 2 and v1 at the registry double and the Index."""
    make_repo("alice/app")
    for tag in ("1", "2", "v1"):
        body = manifest_bytes(tag)
        fake.push("alice/app", tag, body)
        events.ingest(uow, registry[0], [push_event("alice/app", tag, body)])
    return "alice/app"


@pytest.fixture
def double(fake):  # noqa: F811 - the fixture
    """The registry double holding alice/app (tests/registry_double.py)."""
    return fake


def test_admin_changes_visibility_and_description(visits, page, client, make_repo):
    make_repo("alice/app", description="old words")
    sign_in(page, visits, "alice")
    visits.go("/r/alice/app")
    page.get_by_role("link", name="Settings").click()
    page.wait_for_url(re.compile(r"/r/alice/app/-/settings$"))
    visits.check("settings")
    assert page.get_by_role("heading", name="Settings of alice/app").is_visible()

    page.get_by_label("Public: anyone may see and pull it").check()
    page.get_by_label("Description", exact=True).fill("<b>new</b> words")
    page.get_by_label("README", exact=True).fill("# Read me\r\n\r\n<b>long</b> words")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/-/settings#general$"))
    visits.check("saved")

    assert page.get_by_role("status").inner_text() == "Visibility, description and README saved."
    shown = client.get("/api/v1/repositories/alice/app", headers=basic("bob")).json
    assert (shown["visibility"], shown["description"]) == ("public", "<b>new</b> words")
    assert shown["readme"] == "# Read me\n\n<b>long</b> words"
    assert page.get_by_label("Description", exact=True).input_value() == "<b>new</b> words"
    assert page.get_by_label("README", exact=True).input_value() == shown["readme"]
    assert page.locator("b", has_text="new").count() == 0


def test_a_readme_over_the_limit_is_refused_keeping_the_input(visits, page, client, make_repo):
    make_repo("alice/app", description="kept")
    sign_in(page, visits, "alice")
    visits.go(SETTINGS)
    too_long = "x" * (MAX_README + 1)
    page.get_by_label("README", exact=True).fill(too_long)
    page.get_by_label("Description", exact=True).fill("changed")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()
    visits.check("refused")

    assert "at most 100000 characters" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("README", exact=True).input_value() == too_long
    shown = client.get("/api/v1/repositories/alice/app", headers=basic("alice")).json
    assert (shown["readme"], shown["description"]) == ("", "kept")  # all or nothing


def test_collaborators_are_added_changed_and_removed(visits, page, client, make_repo):
    make_repo("alice/app")
    sign_in(page, visits, "alice")
    visits.go(SETTINGS)

    def collaborators():
        answer = client.get(
            "/api/v1/repositories/alice/app/-/collaborators", headers=basic("alice")
        )
        return [(c["username"], c["role"]) for c in answer.json["items"]]

    page.get_by_label("Username", exact=True).fill("nobody")
    page.get_by_label("Role", exact=True).select_option("write")
    page.get_by_role("button", name="Add collaborator").click()
    visits.check("unknown-user")
    assert "nobody" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Username", exact=True).input_value() == "nobody"  # the input is kept

    page.get_by_label("Username", exact=True).fill("bob")
    page.get_by_label("Role", exact=True).select_option("write")
    page.get_by_role("button", name="Add collaborator").click()
    page.wait_for_url(re.compile(r"#collaborators$"))
    visits.check("added")
    assert collaborators() == [("bob", "write")]

    page.get_by_label("Role of bob", exact=True).select_option("admin")
    page.get_by_role("button", name="Change the role of bob").click()
    page.wait_for_url(re.compile(r"#collaborators$"))
    visits.check("changed")
    assert collaborators() == [("bob", "admin")]
    assert page.get_by_label("Role of bob", exact=True).input_value() == "admin"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove bob").click()
    page.wait_for_url(re.compile(r"#collaborators$"))
    visits.check("removed")
    assert collaborators() == []
    assert page.get_by_text("No collaborators yet.").is_visible()


def test_organisation_teams_are_granted_and_revoked(visits, page, uow, users, make_repo):
    alice = principals.principal_for(uow, users["alice"])
    orgs.create_org(uow, "acme", owner="alice", actor=alice)
    orgs.create_team(uow, "acme", "builders", "write")
    orgs.create_team(uow, "acme", "everyone", "read", all_repositories=True)
    make_repo("acme/app", owner="alice")
    sign_in(page, visits, "alice")
    visits.go("/r/acme/app/-/settings")

    teams = page.get_by_role("table", name="Teams of acme")
    assert (
        "every repository of acme"
        in teams.get_by_role("row", name=re.compile("everyone")).inner_text()
    )
    page.get_by_role("button", name="Grant team builders its role").click()
    page.wait_for_url(re.compile(r"#teams$"))
    visits.check("granted")
    assert orgs.team_repositories(uow, "acme", "builders") == ["acme/app"]

    page.get_by_role("button", name="Revoke the grant of team builders").click()
    page.wait_for_url(re.compile(r"#teams$"))
    visits.check("revoked")
    assert orgs.team_repositories(uow, "acme", "builders") == []


def test_a_repository_admin_who_does_not_own_the_organisation_cannot_grant_teams(
    visits, page, uow, users, make_repo, client
):
    alice = principals.principal_for(uow, users["alice"])
    orgs.create_org(uow, "acme", owner="alice", actor=alice)
    orgs.create_team(uow, "acme", "builders", "write")
    make_repo("acme/app", owner="alice")
    answer = client.put(
        "/api/v1/repositories/acme/app/-/collaborators/bob",
        json={"role": "admin"},
        headers=basic("alice"),
    )
    assert answer.status_code == 204
    sign_in(page, visits, "bob")
    visits.go("/r/acme/app/-/settings")
    page.get_by_role("button", name="Grant team builders its role").click()
    visits.check("refused")
    assert page.get_by_role("alert").inner_text() == "only owners of acme may do that"
    assert orgs.team_repositories(uow, "acme", "builders") == []


def test_immutable_patterns_and_retention_with_its_dry_run(
    visits, page, uow, make_repo, add_tag, principal_of
):
    make_repo("alice/app")
    for number, tag in enumerate(("old", "older", "v1")):
        add_tag("alice/app", tag, digest_char="abc"[number])
    sign_in(page, visits, "alice")
    visits.go(SETTINGS)
    assert page.get_by_text("Retention would delete no tag now.").is_visible()

    page.get_by_label("Immutable tag patterns").fill("v*\nrelease/1")
    page.get_by_role("button", name="Save patterns").click()
    visits.check("bad-pattern")
    assert "release/1" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Immutable tag patterns").input_value() == "v*\nrelease/1"
    page.get_by_label("Immutable tag patterns").fill("v*\n\nrelease-*")
    page.get_by_role("button", name="Save patterns").click()
    page.wait_for_url(re.compile(r"#immutable$"))
    visits.check("patterns")

    page.get_by_label("Keep the newest tags (count)").fill("1")
    page.get_by_label("Always keep tags matching (one glob a line)").fill("v*")
    page.get_by_role("button", name="Save retention").click()
    page.wait_for_url(re.compile(r"#retention$"))
    visits.check("retention")

    rules = tag_rules.get_rules(uow, principal_of("alice"), "alice/app")
    assert rules.immutable == ("v*", "release-*")
    assert (rules.keep_newest, rules.keep_patterns, rules.max_age_days) == (1, ("v*",), None)
    preview = page.get_by_role("list", name="Tags retention would delete")
    assert len(preview.get_by_role("listitem").all()) == 1  # the newest non-v tag stays

    page.get_by_label("Delete tags older than (days)").fill("soon")
    page.get_by_role("button", name="Save retention").click()
    visits.check("bad-number")
    assert "whole number" in page.get_by_role("alert").inner_text()


def test_a_tag_is_deleted_after_confirmation(visits, page, client, agent, double, pushed):
    sign_in(page, visits, "alice")
    visits.go(SETTINGS)
    page.get_by_label("Tag", exact=True).select_option("1")
    page.get_by_role("button", name="Delete this tag…").click()
    page.wait_for_url(re.compile(r"/-/settings/delete-tag\?tag=1$"))
    visits.check("confirm")
    assert sorted(double.repositories["alice/app"]) == ["1", "2", "v1"]  # nothing yet

    page.get_by_role("button", name="Delete 1").click()
    page.wait_for_url(re.compile(r"/-/settings#tag$"))
    visits.check("deleted")
    assert page.get_by_role("status").inner_text() == "Tag 1 deleted."
    assert sorted(double.repositories["alice/app"]) == ["2", "v1"]
    listed = client.get("/api/v1/repositories/alice/app/-/tags", headers=basic("alice")).json
    assert [t["name"] for t in listed["items"]] == ["2", "v1"]


def test_an_immutable_tag_is_not_deleted(visits, page, agent, double, pushed, uow, principal_of):
    tag_rules.set_immutable(uow, principal_of("alice"), "alice/app", ["v*"])
    sign_in(page, visits, "alice")
    visits.go("/r/alice/app/-/settings/delete-tag?tag=v1")
    page.get_by_role("button", name="Delete v1").click()
    visits.check("refused")
    assert "v*" in page.get_by_role("alert").inner_text()
    assert "v1" in double.repositories["alice/app"]


def test_repository_deletion_needs_the_full_name(visits, page, client, agent, double, pushed):
    sign_in(page, visits, "alice")
    visits.go(SETTINGS)
    page.get_by_label("Type alice/app to confirm").fill("app")
    page.get_by_role("button", name="Delete this repository").click()
    visits.check("wrong-name")
    assert "Type the repository's full name" in page.get_by_role("alert").inner_text()
    assert client.get("/api/v1/repositories/alice/app", headers=basic("alice")).status_code == 200
    assert "alice/app" in double.repositories

    page.get_by_label("Type alice/app to confirm").fill("alice/app")
    page.get_by_role("button", name="Delete this repository").click()
    page.wait_for_url(re.compile(r"/$"))
    visits.check("deleted")
    assert page.get_by_role("status").inner_text() == "Repository alice/app was deleted."
    assert client.get("/api/v1/repositories/alice/app", headers=basic("alice")).status_code == 404
    assert "alice/app" not in double.repositories


def test_repository_deletion_is_pending_while_a_registry_is_down(
    visits,
    page,
    client,
    agent,
    double,
    pushed,
):
    double.down = True
    sign_in(page, visits, "alice")
    visits.go(SETTINGS)
    page.get_by_label("Type alice/app to confirm").fill("alice/app")
    page.get_by_role("button", name="Delete this repository").click()
    page.wait_for_url(re.compile(r"/-/settings#delete$"))
    visits.check("pending")
    assert page.get_by_role("status").inner_text().startswith("Deletion pending")
    shown = client.get("/api/v1/repositories/alice/app", headers=basic("alice"))
    assert shown.json["status"] == "deleting"

    double.down = False  # deleting again retries at once
    page.get_by_label("Type alice/app to confirm").fill("alice/app")
    page.get_by_role("button", name="Delete this repository").click()
    page.wait_for_url(re.compile(r"/$"))
    assert "alice/app" not in double.repositories


def test_who_may_reach_the_settings(visits, page, client, make_repo):
    make_repo("alice/app")
    make_repo("alice/shared")
    answer = client.put(
        "/api/v1/repositories/alice/shared/-/collaborators/bob",
        json={"role": "write"},
        headers=basic("alice"),
    )
    assert answer.status_code == 204

    response = visits.go(SETTINGS)  # anonymous: sign in first
    assert re.search(r"/signin\?next=", page.url)
    sign_in(page, visits, "bob")
    response = visits.go(SETTINGS)
    assert response.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
    assert "alice/app" not in page.content()
    visits.go("/r/alice/shared")
    assert page.get_by_role("link", name="Settings").count() == 0
    response = visits.go("/r/alice/shared/-/settings")
    assert response.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    response = visits.go("/r/alice/app/-/settings/delete-tag?tag=v1")
    assert response.status == 404


def test_forms_without_the_csrf_token_change_nothing(client, make_repo):
    make_repo("alice/app", description="kept")
    client.post("/api/v1/session", json={"username": "alice", "password": PASSWORD})
    for path, data in (
        ("/general", {"visibility": "public", "description": "changed"}),
        ("/collaborators", {"username": "bob", "role": "admin"}),
        ("/delete", {"confirm_name": "alice/app"}),
    ):
        response = client.post(SETTINGS + path, data=data)
        assert response.status_code == 400
        assert "form expired" in response.get_data(as_text=True)
    shown = client.get("/api/v1/repositories/alice/app").json
    assert (shown["visibility"], shown["description"]) == ("private", "kept")
    assert client.get("/api/v1/repositories/alice/app/-/collaborators").json["items"] == []
    # with the token the same post works (the test above can fail)
    response = client.post(
        SETTINGS + "/general",
        data={"visibility": "public", "description": "changed", "csrf_token": csrf(client)},
    )
    assert response.status_code == 303


def test_the_settings_page_holds_no_inline_script_or_style(client, make_repo):
    make_repo("alice/app")
    client.post("/api/v1/session", json={"username": "alice", "password": PASSWORD})
    html = client.get(SETTINGS).get_data(as_text=True)
    assert "Settings of alice/app" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html and "<style" not in html
    assert re.search(r' on[a-z]+="', html) is None


def test_settings_and_webhooks_fit_a_phone_in_the_dark(browser, server, client, make_repo):
    from .browser import Visits

    make_repo("alice/app")
    client.put(
        "/api/v1/repositories/alice/app/-/collaborators/bob",
        json={"role": "write"},
        headers=basic("alice"),
    )
    client.post(
        "/api/v1/repositories/alice/app/-/webhooks",
        json={"url": "https://hooks.example/a-rather-long-path/for/the/receiver?with=query"},
        headers=basic("alice"),
    )
    context = browser.new_context(color_scheme="dark", viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        visits = Visits(page, server.url, "test_settings_and_webhooks_fit_a_phone_in_the_dark")
        sign_in(page, visits, "alice")
        for path in (SETTINGS, "/r/alice/app/-/webhooks"):
            visits.go(path)
            assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
    finally:
        context.close()
