"""Organisation pages in a real browser (browser.py): creating one, its teams, members and
robots, what members and strangers see, and the owners-only rule of the API (403)."""

from __future__ import annotations

import re

import pytest
from wharf_index.services import orgs, principals

from tests.conftest import PASSWORD

from ..api.conftest import basic


def sign_in(page, visits, username: str) -> None:
    visits.go("/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/$"))


def csrf(client) -> str:
    with client.session_transaction() as session:
        return session["csrf"]


def client_sign_in(client, username: str) -> None:
    client.get("/signin")
    response = client.post(
        "/signin", data={"username": username, "password": PASSWORD, "csrf_token": csrf(client)}
    )
    assert response.status_code == 303


@pytest.fixture
def acme(uow, users):
    """Organisation acme owned by alice."""
    alice = principals.principal_for(uow, users["alice"])
    return orgs.create_org(uow, "acme", owner="alice", actor=alice)


def test_a_person_creates_an_organisation_a_team_and_grants_bob_a_repository(
    visits, page, users, make_repo
):
    sign_in(page, visits, "alice")
    visits.go("/u/alice")
    page.get_by_role("link", name="New organisation").click()
    visits.check("new-org")
    page.get_by_label("Name").fill("acme")
    page.get_by_role("button", name="Create organisation").click()
    page.wait_for_url(re.compile(r"/orgs/acme$"))
    visits.check("created")
    assert page.get_by_role("heading", level=1).inner_text() == "acme"
    members = page.get_by_role("list", name="Members of acme")
    assert members.inner_text().split() == ["alice", "owner"]

    make_repo("acme/app", visibility="private", owner="alice")
    make_repo("acme/site", visibility="public", owner="alice")
    make_repo("acme/secret", visibility="private", owner="alice")

    page.get_by_role("link", name="Teams").click()
    visits.check("teams")
    page.get_by_label("Team name").fill("devs")
    page.get_by_label("Role").select_option("write")
    page.get_by_role("button", name="Create team").click()
    page.wait_for_url(re.compile(r"/orgs/acme/-/teams$"))
    visits.check("team-created")
    page.get_by_label("Username").fill("bob")
    page.get_by_role("button", name="Add to devs").click()
    page.wait_for_url(re.compile(r"/orgs/acme/-/teams$"))
    visits.check("bob-added")
    page.get_by_label("Repository", exact=True).select_option("acme/app")
    page.get_by_role("button", name="Grant to devs").click()
    page.wait_for_url(re.compile(r"/orgs/acme/-/teams$"))
    visits.check("granted")
    team_members = page.get_by_role("list", name="Members of team devs")
    assert team_members.get_by_role("link").all_inner_texts() == ["bob"]
    granted = page.get_by_role("list", name="Repositories of team devs")
    assert granted.get_by_role("link").all_inner_texts() == ["acme/app"]
    sign_out(page)

    # bob sees the repository granted to his team, the public one, members and teams
    sign_in(page, visits, "bob")
    visits.go("/orgs/acme")
    listed = page.get_by_role("list", name="Repositories of acme").get_by_role("link")
    assert sorted(listed.all_inner_texts()) == ["acme/app", "acme/site"]
    members = page.get_by_role("list", name="Members of acme").get_by_role("link")
    assert members.all_inner_texts() == ["alice", "bob"]
    assert "devs" in page.get_by_role("list", name="Teams of acme").inner_text()
    assert page.get_by_role("navigation", name="Organisation acme").count() == 0
    assert visits.go("/orgs/acme/-/teams").status == 403
    sign_out(page)

    # an anonymous visitor: the public repository only, no members, no teams
    visits.go("/orgs/acme")
    listed = page.get_by_role("list", name="Repositories of acme").get_by_role("link")
    assert listed.all_inner_texts() == ["acme/site"]
    assert page.get_by_role("heading", name="Members").count() == 0
    assert "secret" not in page.content() and "acme/app" not in page.content()
    visits.go("/orgs/acme/-/members")
    assert "/signin" in page.url


def test_owners_add_members_and_the_last_owner_cannot_leave(visits, page, acme):
    sign_in(page, visits, "alice")
    visits.go("/orgs/acme/-/members")
    page.get_by_label("Username").fill("bob")
    page.get_by_role("button", name="Add member").click()
    page.wait_for_url(re.compile(r"/orgs/acme/-/members$"))
    visits.check("bob-added")
    rows = page.get_by_role("table").get_by_role("row")
    assert [r.split("\t")[:2] for r in rows.all_inner_texts()[1:]] == [
        ["alice", "owner"],
        ["bob", "member"],
    ]

    with page.expect_response(re.compile(r"/members/remove$")) as answer:
        page.get_by_role("button", name="Leave the organisation").click()
    visits.check("last-owner")
    assert answer.value.status == 409
    assert page.get_by_role("alert").inner_text() == "alice is the last owner of acme"
    assert page.get_by_label("Username").input_value() == ""

    page.get_by_label("Username").fill("nobody-here")
    page.get_by_role("button", name="Add member").click()
    visits.check("unknown-user")
    assert "nobody-here" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Username").input_value() == "nobody-here"

    page.get_by_label("Username").fill("bob")
    page.get_by_label("Owner").check()
    page.get_by_role("button", name="Add member").click()
    page.wait_for_url(re.compile(r"/orgs/acme/-/members$"))
    page.get_by_role("button", name="Leave the organisation").click()
    page.wait_for_url(re.compile(r"/orgs/acme$"))
    visits.check("left")
    assert page.get_by_role("heading", name="Members").count() == 0  # no longer a member
    assert visits.go("/orgs/acme/-/members").status == 403


def test_robot_credential_is_shown_once_and_works_with_the_api(
    visits, page, client, acme, make_repo
):
    make_repo("acme/app", visibility="private", owner="alice")
    sign_in(page, visits, "alice")
    visits.go("/orgs/acme/-/robots")
    page.get_by_label("Name").fill("ci")
    page.get_by_role("button", name="Create robot").click()
    visits.check("created")
    secret = page.locator("#robot-secret").inner_text().strip()
    assert secret.startswith("wharf_pat_")
    assert page.get_by_role("button", name="Copy").is_visible()
    assert page.get_by_role("table").get_by_role("row", name=re.compile(r"acme\+ci")).count() == 1

    found = client.get("/api/v1/repositories/acme/app", headers=basic("acme+ci", secret))
    assert found.status_code == 200

    visits.go("/orgs/acme/-/robots")
    assert secret not in page.content()
    assert page.locator("#robot-secret").count() == 0

    page.get_by_role("button", name="Delete acme+ci").click()
    page.wait_for_url(re.compile(r"/orgs/acme/-/robots$"))
    visits.check("deleted")
    assert page.get_by_text("No robots yet.").is_visible()
    gone = client.get("/api/v1/repositories/acme/app", headers=basic("acme+ci", secret))
    assert gone.status_code == 401


def test_bad_robot_input_is_refused_with_a_message(client, acme):
    client_sign_in(client, "alice")
    response = client.post(
        "/orgs/acme/-/robots",
        data={"csrf_token": csrf(client), "name": "Bad Name!", "actions": ["pull"]},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html and "wharf_pat_" not in html
    assert 'value="Bad Name!"' in html


def test_non_owners_cannot_reach_or_post_to_the_owners_pages(client, acme, uow, users):
    orgs.add_member(uow, "acme", "bob", actor=principals.principal_for(uow, users["alice"]))
    client_sign_in(client, "bob")
    for path in ("/orgs/acme/-/members", "/orgs/acme/-/teams", "/orgs/acme/-/robots"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Not allowed" in response.get_data(as_text=True)
    response = client.post(
        "/orgs/acme/-/members", data={"csrf_token": csrf(client), "username": "carol"}
    )
    assert response.status_code == 403
    assert [m.username for m in orgs.list_members(uow, "acme")] == ["alice", "bob"]
    assert client.get("/orgs/nowhere").status_code == 404
    assert client.get("/orgs/nowhere/-/members").status_code == 404
    # an administrator may, as in the API
    client.post("/signout", data={"csrf_token": csrf(client)})
    client_sign_in(client, "carol")
    assert client.get("/orgs/acme/-/members").status_code == 200


def test_forms_without_the_csrf_token_are_refused(client, acme, uow):
    client_sign_in(client, "alice")
    for path, data in (
        ("/orgs/new", {"name": "other"}),
        ("/orgs/acme/-/members", {"username": "bob"}),
        ("/orgs/acme/-/teams", {"name": "devs", "role": "read"}),
        ("/orgs/acme/-/robots", {"name": "ci", "actions": "pull"}),
    ):
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert "form expired" in response.get_data(as_text=True)
    assert [o.name for o in orgs.list_orgs(uow)] == ["acme"]
    assert [m.username for m in orgs.list_members(uow, "acme")] == ["alice"]
    assert orgs.list_teams(uow, "acme") == []


def test_new_organisation_needs_a_signed_in_user_and_a_free_name(client, acme):
    response = client.get("/orgs/new")
    assert response.status_code == 303 and "/signin" in response.headers["Location"]
    client_sign_in(client, "bob")
    taken = client.post("/orgs/new", data={"csrf_token": csrf(client), "name": "acme"})
    assert taken.status_code == 409
    assert 'value="acme"' in taken.get_data(as_text=True)
    bad = client.post("/orgs/new", data={"csrf_token": csrf(client), "name": "<b>x</b>"})
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_user_text_shows_as_text(visits, page, acme):
    sign_in(page, visits, "alice")
    visits.go("/orgs/acme/-/teams")
    page.get_by_label("Team name").fill("ops")
    page.get_by_label("Description (optional)").fill("<img src=x> <b>on call</b>")
    page.get_by_role("button", name="Create team").click()
    page.wait_for_url(re.compile(r"/orgs/acme/-/teams$"))
    visits.check("team")
    assert page.get_by_text("<img src=x> <b>on call</b>").is_visible()
    assert page.locator("main b").count() == 0 and page.locator("main img").count() == 0


def test_owners_pages_fit_a_phone_in_the_dark(browser, server, request, acme, make_repo):
    from .browser import Visits

    make_repo("acme/a-rather-long-repository-name-for-a-phone", owner="alice")
    context = browser.new_context(color_scheme="dark", viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        visits = Visits(page, server.url, request.node.name)
        sign_in(page, visits, "alice")
        for path in ("/orgs/acme", "/orgs/acme/-/members", "/orgs/acme/-/teams"):
            visits.go(path)
            assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
        page.get_by_label("Team name").fill("devs")
        page.get_by_role("button", name="Create team").click()
        page.wait_for_url(re.compile(r"/orgs/acme/-/teams$"))
        visits.check("team")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        visits.go("/orgs/acme/-/robots")
        page.get_by_label("Name").fill("ci")
        page.get_by_role("button", name="Create robot").click()
        visits.check("robot")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()


def test_pages_hold_no_inline_script_or_style(client, acme):
    client_sign_in(client, "alice")
    for path in (
        "/u/alice",
        "/orgs/acme",
        "/orgs/new",
        "/orgs/acme/-/members",
        "/orgs/acme/-/teams",
        "/orgs/acme/-/robots",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " style=" not in html and "<style" not in html, path
        assert re.search(r' on[a-z]+="', html) is None, path
