"""The user page in a real browser (browser.py): the repositories and organisations a
visitor may see, and Not found for unknown, disabled and robot accounts."""

from __future__ import annotations

import pytest
from wharf_index.services import access_tokens, accounts, orgs, principals

from ..api.conftest import basic
from .test_orgs import sign_in


@pytest.fixture
def alice_with_repositories(client, uow, users, make_repo):
    make_repo("alice/web", visibility="public", description="<b>bold</b> server")
    make_repo("alice/confidential", visibility="private")
    make_repo("bob/other", visibility="public")
    for who in ("bob", "carol"):
        star = client.put("/api/v1/repositories/alice/web/-/stars", headers=basic(who))
        assert star.status_code == 200
    alice = principals.principal_for(uow, users["alice"])
    orgs.create_org(uow, "acme", owner="alice", actor=alice)
    orgs.create_org(uow, "zeta", owner="alice", actor=alice)
    owner = principals.principal_for(uow, users["alice"])  # now with acme's grant
    orgs.add_member(uow, "acme", "bob", actor=owner)


def test_a_visitor_sees_public_repositories_and_no_organisations(
    visits, page, alice_with_repositories
):
    response = visits.go("/u/alice")

    assert response.status == 200
    assert page.get_by_role("heading", level=1).inner_text() == "alice"
    listed = page.get_by_role("list", name="Repositories of alice")
    assert listed.get_by_role("link").all_inner_texts() == ["alice/web"]
    assert "★ 2 stars" in page.locator("header.page-head").inner_text()
    assert "confidential" not in page.content()
    assert page.get_by_text("No organisations to show.").is_visible()
    # the description is text, never markup
    assert "<b>bold</b> server" in listed.inner_text()
    assert page.locator("main b").count() == 0


def test_members_see_shared_organisations_and_the_owner_sees_everything(
    visits, page, alice_with_repositories
):
    sign_in(page, visits, "bob")
    visits.go("/u/alice")
    assert page.get_by_role("list", name="Repositories of alice").get_by_role(
        "link"
    ).all_inner_texts() == ["alice/web"]
    shared = page.get_by_role("list", name="Organisations of alice").get_by_role("link")
    assert shared.all_inner_texts() == ["acme"]  # bob is not in zeta
    assert page.get_by_role("link", name="New organisation").count() == 0
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{visits.base_url}/")

    sign_in(page, visits, "alice")
    page.get_by_role("link", name="alice", exact=True).click()  # the header's link
    page.wait_for_url(f"{visits.base_url}/u/alice")
    visits.check("own-page")
    listed = page.get_by_role("list", name="Repositories of alice").get_by_role("link")
    assert sorted(listed.all_inner_texts()) == ["alice/confidential", "alice/web"]
    mine = page.get_by_role("list", name="Organisations of alice").get_by_role("link")
    assert mine.all_inner_texts() == ["acme", "zeta"]
    page.get_by_role("link", name="acme").click()
    page.wait_for_url(f"{visits.base_url}/orgs/acme")
    visits.check("org")


def test_unknown_disabled_robot_and_organisation_names_are_not_found(client, uow, users, make_user):
    carol = principals.principal_for(uow, users["carol"])
    make_user("dora")
    accounts.set_disabled(uow, "dora", True, actor=carol)
    orgs.create_org(uow, "acme", owner="alice", actor=carol)
    access_tokens.create_robot(uow, carol, "acme", "ci", ["acme/*:pull"])
    for name in ("nobody", "dora", "acme", "acme+ci"):
        response = client.get(f"/u/{name}", headers={"Accept": "text/html"})
        assert response.status_code == 404, name
        assert "Not found" in response.get_data(as_text=True)
    assert client.get("/u/alice").status_code == 200
