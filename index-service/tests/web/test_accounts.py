"""Accounts on the pages, in a real browser (browser.py): signing up as INDEX_SIGNUP allows
(closed, open, by invitation), invitations on /admin/invitations, the profile, changing the
password, and personal access tokens (made on the page, used with the API, revoked)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from tests.conftest import PASSWORD

from ..api.conftest import API, basic

NEW_PASSWORD = "a brand new long password"


@pytest.fixture
def signup(request):
    """INDEX_SIGNUP for the test (``indirect`` parametrisation); closed by default."""
    return getattr(request, "param", "closed")


@pytest.fixture
def settings(settings, signup):
    return dataclasses.replace(settings, signup=signup)


def _csrf(client) -> str:
    with client.session_transaction() as session:
        return session["csrf"]


def _sign_in(visits, page, username: str, password: str = PASSWORD) -> None:
    visits.go("/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))


def _fill_signup(page, username: str, email: str, password=PASSWORD, again=None) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password again").fill(password if again is None else again)
    page.get_by_role("button", name="Create account").click()


def _user_count(sql, username: str) -> int:
    return sql("SELECT count(*) FROM users WHERE username = %s", (username,))[0][0]


# -- sign-up ----------------------------------------------------------------------------------


def test_closed_signup_shows_no_form_and_creates_nobody(visits, page, client, sql, users):
    response = visits.go("/signup")
    assert response.status == 404
    assert page.get_by_role("heading", name="No sign-up here").is_visible()
    assert "an administrator creates accounts" in page.inner_text("main")
    assert page.locator("main input").count() == 0
    assert page.get_by_role("link", name="Sign up").count() == 0  # not in the header

    client.get("/signin")
    form = {"csrf_token": _csrf(client), "username": "mallory", "email": "m@example.test"}
    form |= {"password": PASSWORD, "password2": PASSWORD}
    assert client.post("/signup", data=form).status_code == 404
    assert _user_count(sql, "mallory") == 0


@pytest.mark.parametrize("signup", ["open"], indirect=True)
def test_open_signup_applies_the_api_rules_and_signs_in(visits, page, client, users, sql):
    visits.go("/")
    page.get_by_role("link", name="Sign up").click()
    visits.check("signup")

    _fill_signup(page, "dora", "dora@example.test", again="something else entirely")
    visits.check("mismatch")
    assert page.get_by_role("alert").inner_text() == "The two passwords differ."
    assert page.get_by_label("Username").input_value() == "dora"  # input kept

    for name, message in (("library", "reserved"), ("Bad Name!", "name"), ("alice", "alice")):
        _fill_signup(page, name, "x@example.test")
        visits.check(f"refused-{name}")
        assert message in page.get_by_role("alert").inner_text().lower()
    _fill_signup(page, "dora", "alice@example.test")  # alice's address
    assert "already in use" in page.get_by_role("alert").inner_text()
    _fill_signup(page, "dora", "dora@example.test", password="short", again="short")
    assert page.get_by_role("alert").is_visible()
    assert _user_count(sql, "dora") == 0

    _fill_signup(page, "dora", "dora@example.test")
    page.wait_for_url(re.compile(r"/account$"))
    visits.check("account")
    assert page.get_by_role("heading", name="Your account").is_visible()
    assert "dora@example.test" in page.inner_text("main")
    assert page.get_by_role("button", name="Sign out").is_visible()
    assert client.get(f"{API}/user", headers=basic("dora")).json["username"] == "dora"
    assert sql("SELECT is_admin FROM users WHERE username = 'dora'") == [(False,)]


@pytest.mark.parametrize("signup", ["invite"], indirect=True)
def test_invitation_made_on_the_admin_page_signs_up_once(
    visits, page, browser, server, request, users, sql, client
):
    response = visits.go("/signup")
    assert response.status == 404
    assert "by invitation" in page.inner_text("main")
    assert page.get_by_role("link", name="Sign up").count() == 0

    page.on("dialog", lambda dialog: dialog.accept())
    _sign_in(visits, page, "carol")
    assert page.get_by_role("link", name="Admin").is_visible()
    visits.go("/admin/invitations")
    page.get_by_label("Email (optional").fill("erin@example.test")
    page.get_by_role("button", name="Create invitation").click()
    visits.check("created")
    link = page.locator("#new-link").inner_text()
    assert re.fullmatch(r"http://127\.0\.0\.1:5001/signup\?invite=[A-Za-z0-9_-]{43}", link)
    assert page.get_by_role("button", name="Copy").is_visible()
    visits.go("/admin/invitations")
    assert link not in page.content()  # shown once
    assert page.get_by_role("row", name=re.compile("erin@example.test")).is_visible()

    from .browser import Visits

    guest = browser.new_context(base_url=server.url)
    try:
        other = guest.new_page()
        theirs = Visits(other, server.url, request.node.name + "-guest")
        path = link.removeprefix("http://127.0.0.1:5001")
        theirs.go(path)
        assert other.get_by_label("Email").input_value() == "erin@example.test"
        _fill_signup(other, "erin", "someone@example.test")
        theirs.check("wrong-email")
        assert "address the invitation" in other.get_by_role("alert").inner_text()
        _fill_signup(other, "erin", "erin@example.test")
        other.wait_for_url(re.compile(r"/account$"))
        theirs.check("account")
        assert _user_count(sql, "erin") == 1

        other.context.clear_cookies()
        response = theirs.go(path)  # used: refused
        assert response.status == 404
        assert "not valid" in other.inner_text("main")
        assert other.locator("main input").count() == 0
    finally:
        guest.close()

    visits.go("/admin/invitations")
    assert (
        "used by erin" in page.get_by_role("row", name=re.compile("erin@example.test")).inner_text()
    )
    actions = sql("SELECT action FROM audit_log WHERE target_type = 'invitation' ORDER BY id")
    assert [a for (a,) in actions] == ["invitation.create", "invitation.redeem"]


@pytest.mark.parametrize("signup", ["invite"], indirect=True)
def test_expired_and_revoked_invitations_are_refused(visits, page, client, users, sql):
    made = []
    for _ in range(3):
        created = client.post(f"{API}/invitations", json={}, headers=basic("carol"))
        assert created.status_code == 201, created.json
        made.append(created.json)
    expired, revoked, fine = made
    sql(
        "UPDATE invitations SET created_at = now() - interval '8 days',"
        " expires_at = now() - interval '1 day' WHERE id = %s",
        (expired["invitation"]["id"],),
    )
    page.on("dialog", lambda dialog: dialog.accept())
    _sign_in(visits, page, "carol")
    visits.go("/admin/invitations")
    page.get_by_role("button", name=f"Revoke invitation {revoked['invitation']['id']}").click()
    page.wait_for_url(re.compile(r"/admin/invitations$"))
    visits.check("revoked")
    assert client.get(f"{API}/invitations", headers=basic("carol")).json["items"][1]["revoked_at"]
    page.get_by_role("button", name="Sign out").click()

    for invitation in (expired, revoked):
        response = visits.go(f"/signup?invite={invitation['token']}")
        assert response.status == 404
        assert "not valid" in page.inner_text("main")
        client.get("/signin")
        form = {"csrf_token": _csrf(client), "invite": invitation["token"], "username": "zed"}
        form |= {"email": "zed@example.test", "password": PASSWORD, "password2": PASSWORD}
        assert client.post("/signup", data=form).status_code == 404
    assert visits.go("/signup?invite=not-a-real-token").status == 404
    assert _user_count(sql, "zed") == 0
    assert visits.go(f"/signup?invite={fine['token']}").status == 200


@pytest.mark.parametrize("signup", ["open"], indirect=True)
def test_the_admin_invitations_page_is_for_administrators_only(visits, page, client, users):
    response = visits.go("/admin/invitations")
    assert re.search(r"/signin\?next=/admin/invitations", page.url)
    assert response.status == 200
    _sign_in(visits, page, "alice")
    assert page.get_by_role("link", name="Admin").count() == 0
    response = visits.go("/admin/invitations")
    assert response.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
    created = client.post(f"{API}/invitations", json={}, headers=basic("alice"))
    assert created.status_code == 403


# -- profile and password ---------------------------------------------------------------------


def test_change_email_checks_the_password_the_rule_and_uniqueness(visits, page, client, users):
    _sign_in(visits, page, "alice")
    visits.go("/account")
    visits.check("account")
    assert page.locator("#current-email").inner_text() == "alice@example.test"

    def submit(email: str, password: str = PASSWORD) -> None:
        page.get_by_label("New email address").fill(email)
        page.get_by_label("Current password").fill(password)
        page.get_by_role("button", name="Change email address").click()
        page.wait_for_load_state()

    submit("alice@new.example", "not my password")
    visits.check("wrong-password")
    assert page.get_by_role("alert").inner_text() == "The password is wrong."
    assert page.get_by_label("New email address").input_value() == "alice@new.example"

    submit("Bob@Example.test")
    visits.check("taken")
    assert page.get_by_role("alert").inner_text() == "That email address is already in use."

    page.get_by_label("New email address").evaluate("e => e.type = 'text'")  # past the browser
    submit("not-an-address")
    visits.check("invalid")
    assert page.get_by_role("alert").inner_text() == "A valid email address is required."

    submit("alice@new.example")
    page.wait_for_url(re.compile(r"/account\?done=1$"))
    visits.check("changed")
    assert page.get_by_role("status").inner_text() == "Your email address was changed."
    assert page.locator("#current-email").inner_text() == "alice@new.example"
    assert client.get(f"{API}/user", headers=basic("alice")).json["email"] == "alice@new.example"
    assert page.get_by_role("button", name="Sign out").is_visible()  # still signed in


def test_pages_of_the_account_need_a_signed_in_user(client, users):
    for path in ("/account", "/account/password", "/account/tokens"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["Location"] == f"/signin?next={path}"


def test_change_password_keeps_this_session_and_ends_the_others(visits, page, client, users):
    other = client  # another browser of alice's, signed in through the API
    signed_in = other.post(f"{API}/session", json={"username": "alice", "password": PASSWORD})
    assert signed_in.status_code == 200
    assert other.get(f"{API}/session").status_code == 200

    _sign_in(visits, page, "alice")
    page.get_by_role("link", name="Account").click()
    visits.check("account")
    assert "alice@example.test" in page.inner_text("main")
    page.get_by_role("link", name="Password").click()
    visits.check("password")

    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    visits.check("wrong-current")
    assert page.get_by_role("alert").inner_text() == "The current password is wrong."

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD + "!")
    page.get_by_role("button", name="Change password").click()
    assert page.get_by_role("alert").inner_text() == "The two new passwords differ."

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url(re.compile(r"/account/password\?done=1$"))
    visits.check("changed")
    assert "Your password was changed" in page.get_by_role("status").inner_text()

    visits.go("/account")  # this session continues
    assert page.get_by_role("button", name="Sign out").is_visible()
    assert other.get(f"{API}/session").status_code == 401  # the other one ended
    assert client.get(f"{API}/user", headers=basic("alice")).status_code == 401
    assert client.get(f"{API}/user", headers=basic("alice", NEW_PASSWORD)).status_code == 200


# -- personal access tokens -------------------------------------------------------------------


def test_a_token_made_on_the_page_is_shown_once_works_and_is_revoked(
    visits, page, client, users, make_repo
):
    make_repo("alice/app", visibility="private")
    page.on("dialog", lambda dialog: dialog.accept())
    _sign_in(visits, page, "alice")
    visits.go("/account/tokens")
    assert page.get_by_text("You have no tokens.").is_visible()

    page.get_by_label("Name").fill("ci <b>laptop</b>")
    page.get_by_label("Repositories", exact=True).fill("alice/*")
    page.get_by_label("push").check()
    page.get_by_label("Expires after").select_option(label="90 days")
    page.get_by_role("button", name="Create token").click()
    visits.check("created")
    secret = page.locator("#new-token").inner_text()
    assert re.fullmatch(r"wharf_pat_[a-z0-9]{12}_[A-Za-z0-9_-]{43}", secret)
    assert page.get_by_role("button", name="Copy").is_visible()
    row = page.get_by_role("row", name="ci <b>laptop</b>")
    assert "alice/*: pull, push" in row.inner_text()  # the name is text, never markup
    assert page.locator("main b").count() == 0

    seen = client.get(f"{API}/repositories/alice/app", headers=basic("alice", secret))
    assert seen.status_code == 200
    visits.go("/account/tokens")
    assert secret not in page.content()  # shown once
    row = page.get_by_role("row", name=re.compile("laptop"))
    assert "never" not in row.locator("td").nth(3).inner_text()  # last used: recorded

    page.get_by_role("button", name="Revoke ci <b>laptop</b>").click()
    page.wait_for_url(re.compile(r"/account/tokens$"))
    visits.check("revoked")
    assert page.get_by_text("You have no tokens.").is_visible()
    refused = client.get(f"{API}/repositories/alice/app", headers=basic("alice", secret))
    assert refused.status_code == 401


def test_a_bad_token_form_says_why_and_keeps_the_input(visits, page, users):
    _sign_in(visits, page, "alice")
    visits.go("/account/tokens")
    page.get_by_label("Name").fill("deploy")
    page.get_by_label("Repositories", exact=True).fill("NOT A PATTERN")
    page.get_by_role("button", name="Create token").click()
    visits.check("bad-pattern")
    assert "Invalid repository pattern: 'NOT'." in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Name").input_value() == "deploy"
    page.get_by_label("Repositories", exact=True).fill("*")
    page.get_by_label("pull").uncheck()
    page.get_by_role("button", name="Create token").click()
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_text("You have no tokens.").is_visible()


def test_tokens_are_private_to_their_owner(visits, page, client, users):
    body = {"name": "alice-secret-token", "scopes": [{"repository": "*", "actions": ["pull"]}]}
    created = client.post(f"{API}/tokens", json=body, headers=basic("alice"))
    token_id, secret = created.json["token"]["id"], created.json["secret"]

    _sign_in(visits, page, "bob")
    visits.go("/account/tokens")
    assert "alice-secret-token" not in page.content()
    assert page.get_by_text("You have no tokens.").is_visible()
    # bob forges a revocation of alice's token with his own session's CSRF token
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = page.request.post(
        f"/account/tokens/{token_id}/revoke", form={"csrf_token": csrf}, max_redirects=0
    )
    assert answer.status == 404
    assert "Not found" in answer.text()
    assert client.get(f"{API}/user", headers=basic("alice", secret)).status_code == 200


# -- CSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize("signup", ["open"], indirect=True)
@pytest.mark.parametrize(
    "path",
    [
        "/signup",
        "/account/email",
        "/account/password",
        "/account/tokens",
        "/account/tokens/1/revoke",
        "/admin/invitations",
        "/admin/invitations/1/revoke",
    ],
)
def test_forms_without_the_csrf_token_are_refused(client, sql, users, path):
    client.get("/signin")
    signed_in = client.post(
        "/signin", data={"username": "carol", "password": PASSWORD, "csrf_token": _csrf(client)}
    )
    assert signed_in.status_code == 303
    data = {"username": "zed", "email": "zed@example.test", "password": PASSWORD}
    data |= {"password2": PASSWORD, "current": PASSWORD, "name": "t", "pattern": "*"}
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    assert sql("SELECT count(*) FROM users WHERE username = 'zed'") == [(0,)]
    assert sql("SELECT count(*) FROM access_tokens") == [(0,)]
    assert sql("SELECT count(*) FROM invitations") == [(0,)]
    assert sql("SELECT email FROM users WHERE username = 'carol'") == [("carol@example.test",)]
    assert client.get(f"{API}/user", headers=basic("carol")).status_code == 200  # unchanged


def test_account_pages_hold_no_inline_script_or_style(client, users):
    client.get("/signin")
    client.post(
        "/signin", data={"username": "carol", "password": PASSWORD, "csrf_token": _csrf(client)}
    )
    for path in ("/account", "/account/password", "/account/tokens", "/admin/invitations",
                 "/signup"):  # fmt: skip
        html = client.get(path).get_data(as_text=True)
        assert "<h1>" in html, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " style=" not in html and "<style" not in html, path
        assert re.search(r' on[a-z]+="', html) is None, path


def test_account_pages_in_the_dark_at_phone_width(browser, server, request, client, users):
    from .browser import Visits

    body = {
        "name": "a-rather-long-token-name-for-a-phone",
        "scopes": [{"repository": "*", "actions": ["pull", "push"]}],
    }
    assert client.post(f"{API}/tokens", json=body, headers=basic("carol")).status_code == 201
    assert client.post(f"{API}/invitations", json={}, headers=basic("carol")).status_code == 201
    context = browser.new_context(color_scheme="dark", viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        visits = Visits(page, server.url, request.node.name)
        _sign_in(visits, page, "carol")
        for path in ("/account", "/account/password", "/account/tokens", "/admin/invitations"):
            visits.go(path)
            assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
    finally:
        context.close()
