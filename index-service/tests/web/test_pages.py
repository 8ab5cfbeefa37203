"""The public pages and signing in, in a real browser (browser.py): what a visitor sees,
what stays private, and the security headers every page carries."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD

from ..api.conftest import basic


def test_home_lists_recent_and_starred_public_repositories_only(
    visits, page, client, make_repo, add_tag
):
    make_repo("alice/web", visibility="public", description="a web server")
    make_repo("alice/db", visibility="public")
    make_repo("alice/secret", visibility="private", description="hidden")
    add_tag("alice/web", "v1", digest_char="a")
    add_tag("alice/secret", "v1", digest_char="b")
    assert (
        client.put("/api/v1/repositories/alice/db/-/stars", headers=basic("bob")).status_code == 200
    )
    assert (
        client.put("/api/v1/repositories/alice/secret/-/stars", headers=basic("alice")).status_code
        == 200
    )

    response = visits.go("/")

    assert response.status == 200
    recent = page.get_by_role("list", name="Recently pushed repositories")
    starred = page.get_by_role("list", name="Most starred repositories")
    assert recent.get_by_role("link").all_inner_texts() == ["alice/web"]
    assert starred.get_by_role("link").all_inner_texts() == ["alice/db"]
    assert "★ 1" in starred.inner_text()
    assert "secret" not in page.content()


def test_search_finds_what_the_visitor_may_see(visits, page, make_repo):
    make_repo("alice/search-me", visibility="public", description="<b>bold</b> claims")
    make_repo("alice/search-hidden", visibility="private")

    visits.go("/")
    page.get_by_label("Search repositories", exact=True).first.fill("search")
    page.get_by_role("button", name="Search").first.click()
    page.wait_for_url(re.compile(r"/search\?q=search"))
    visits.check("results")

    results = page.get_by_role("list", name="Search results")
    assert results.get_by_role("link").all_inner_texts() == ["alice/search-me"]
    # the description is text, never markup
    assert "<b>bold</b> claims" in results.inner_text()
    assert page.locator("b", has_text="bold").count() == 0


def test_signed_in_owner_finds_private_repositories_and_signs_out(visits, page, make_repo):
    make_repo("alice/private-one", visibility="private")

    visits.go("/search?q=private-one")
    assert page.get_by_text("No repository matches").is_visible()

    page.get_by_role("link", name="Sign in").click()
    visits.check("signin")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/search\?q=private-one"))
    visits.check("results-signed-in")
    assert page.get_by_role("link", name="alice/private-one").is_visible()
    assert page.get_by_text("private", exact=True).is_visible()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/$"))
    visits.check("signed-out")
    assert page.get_by_role("link", name="Sign in").is_visible()
    visits.go("/search?q=private-one")
    assert page.get_by_text("No repository matches").is_visible()


def test_wrong_password_says_so_without_telling_which(visits, page, users):
    visits.go("/signin")
    for name in ("alice", "nobody"):
        page.get_by_label("Username").fill(name)
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Sign in").click()
        visits.check(f"wrong-{name}")
        assert page.get_by_role("alert").inner_text() == "Wrong username or password."


def test_search_pages_by_name(visits, page, make_repo):
    for number in range(23):
        make_repo(f"alice/paged-{number:02d}", visibility="public")

    visits.go("/search?q=paged&sort=name")
    first = page.get_by_role("list", name="Search results").get_by_role("link").all_inner_texts()
    assert first == [f"alice/paged-{n:02d}" for n in range(20)]
    assert page.get_by_text("23 repositories").is_visible()
    page.get_by_role("link", name="Next").click()
    visits.check("page-2")
    second = page.get_by_role("list", name="Search results").get_by_role("link").all_inner_texts()
    assert second == [f"alice/paged-{n:02d}" for n in range(20, 23)]


def test_search_pages_by_relevance_with_a_cursor(visits, page, make_repo):
    for number in range(21):
        make_repo(f"alice/ranked-{number:02d}", visibility="public")

    visits.go("/search?q=ranked")
    first = page.get_by_role("list", name="Search results").get_by_role("link").all_inner_texts()
    page.get_by_role("link", name="More results").click()
    visits.check("more")
    second = page.get_by_role("list", name="Search results").get_by_role("link").all_inner_texts()
    assert len(first) == 20 and len(second) == 1
    assert sorted(first + second) == [f"alice/ranked-{n:02d}" for n in range(21)]


def test_dark_theme_and_phone_width_pass_the_accessibility_check(browser, server, request):
    from .browser import Visits

    context = browser.new_context(color_scheme="dark", viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        visits = Visits(page, server.url, request.node.name)
        visits.go("/")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(13, 17, 23)"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360  # nothing overflows sideways on a phone
        visits.go("/signin")
    finally:
        context.close()


def test_unknown_page_and_keyboard_navigation(visits, page):
    response = visits.go("/no/such/page")
    assert response.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"


@pytest.mark.parametrize("path", ["/", "/search?q=x", "/signin", "/-/static/wharf.css"])
def test_every_page_carries_the_security_headers(client, path):
    response = client.get(path)
    response.close()
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_hold_no_inline_script_or_style(client, users):
    for path in ("/", "/search?q=x", "/signin"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " style=" not in html and "<style" not in html, path
        assert re.search(r' on[a-z]+="', html) is None, path


def test_forms_without_the_csrf_token_are_refused(client, users):
    response = client.post("/signin", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    assert client.get("/api/v1/session").status_code == 401


def test_signin_redirects_only_within_the_site(client, users):
    for target, expected in (
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/search?q=a", "/search?q=a"),
    ):
        client.get("/signin")
        response = client.post(
            "/signin",
            data={
                "username": "alice",
                "password": PASSWORD,
                "csrf_token": _csrf(client),
                "next": target,
            },
        )
        assert response.status_code == 303
        assert response.headers["Location"] == expected
        assert client.post("/signout", data={"csrf_token": _csrf(client)}).status_code == 303


def _csrf(client) -> str:
    with client.session_transaction() as session:
        return session["csrf"]
