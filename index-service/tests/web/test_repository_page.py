"""The repository page (/r/NAME) in a real browser: what it shows, starring, comments and
who may change them, Markdown and escaping, privacy and CSRF."""

from __future__ import annotations

import re

from wharf_index.domain.model import SYSTEM
from wharf_index.services import comments, principals, registries, repositories

from tests.conftest import PASSWORD

from ..api.conftest import API, basic


def _sign_in(visits, page, who: str, path: str) -> None:
    visits.go(f"/signin?next={path}")
    page.get_by_label("Username").fill(who)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(path) + "$"))
    visits.check("signed-in")


def _comment(uow, users, who: str, name: str, body: str):
    return comments.add_comment(uow, principals.principal_for(uow, users[who]), name, body)


def _csrf(client) -> str:
    with client.session_transaction() as session:
        return session["csrf"]


def _client_signed_in(client, who: str) -> None:
    response = client.post("/api/v1/session", json={"username": who, "password": PASSWORD})
    assert response.status_code in (200, 201), response.json
    client.get("/")  # a page with a form (sign out): the form token is in the session


def test_page_shows_the_repository_and_its_tags(visits, page, uow, make_repo, add_tag):
    make_repo(
        "alice/tools/web",
        visibility="public",
        description="# Web server\n\nServes **static** files. See [docs](https://example.com/d).",
    )
    registries.add_registry(uow, "reg", "https://registry.example.com:5000", "private")
    add_tag("alice/tools/web", "v1", digest_char="a", layers=[("sha256:" + "d" * 64, 1024)])
    add_tag("alice/tools/web", "latest", digest_char="b", size=2048)

    response = visits.go("/r/alice/tools/web")

    assert response.status == 200
    assert page.get_by_role("heading", level=1).inner_text() == "alice/tools/web"
    assert page.get_by_text("public", exact=True).is_visible()
    about = page.locator(".markdown").first
    assert about.locator("h3", has_text="Web server").count() == 1
    assert about.locator("strong", has_text="static").count() == 1
    assert about.get_by_role("link", name="docs").get_attribute("rel") == (
        "noopener noreferrer nofollow"
    )
    assert page.locator("#pull-command").inner_text() == (
        "docker pull registry.example.com:5000/alice/tools/web"
    )
    assert page.get_by_role("button", name="Copy").get_attribute("data-copy") == "pull-command"
    assert page.get_by_role("link", name="Sign in to star").is_visible()
    rows = page.get_by_role("table").locator("tbody tr")
    assert rows.count() == 2
    latest, v1 = rows.nth(0), rows.nth(1)
    assert latest.get_by_role("rowheader").inner_text() == "latest"
    assert "b" * 12 in latest.inner_text() and "2.0 KiB" in latest.inner_text()
    assert v1.locator("td").nth(1).inner_text() == ""  # no platform known
    assert "1.5 KiB" in v1.inner_text()  # 500 B manifest + 1 KiB layer
    assert "alice" in v1.inner_text()
    assert v1.locator("time").get_attribute("datetime").endswith("Z")
    assert v1.get_by_role("link", name="v1").get_attribute("href") == (
        "/r/alice/tools/web/-/tags/v1"
    )


def test_the_pull_line_names_the_first_registry_serving_the_viewer(
    visits, page, uow, make_repo, sql
):
    """alpha (private), beta (sponsor) and copy (a mirror of alpha) all serve alice/multi:
    an anonymous viewer is served by beta only, a signed-in outsider by alpha and beta, the
    owner by all three; the first of them by name comes first, the others are "Also on".
    Viewing the page takes no turn of the rotation."""
    make_repo("alice/multi", visibility="public")
    for name, kind, options in (
        ("alpha", "private", {}),
        ("beta", "sponsor", {}),
        ("copy", "mirror", {"upstream": "alpha"}),
    ):
        url = f"https://{name}.example.test" + (":5000" if name == "beta" else "")
        registries.add_registry(uow, name, url, kind, ["alice"], actor=SYSTEM, **options)

    visits.go("/r/alice/multi")
    pull = page.locator("#pull-command")
    assert pull.inner_text() == "docker pull beta.example.test:5000/alice/multi"
    assert page.locator("#also-on").count() == 0  # nothing else serves an anonymous viewer

    _sign_in(visits, page, "bob", "/r/alice/multi")
    assert pull.inner_text() == "docker pull alpha.example.test/alice/multi"
    assert page.locator("#also-on").inner_text() == "Also on: beta.example.test:5000"

    page.context.clear_cookies()
    _sign_in(visits, page, "alice", "/r/alice/multi")
    assert pull.inner_text() == "docker pull alpha.example.test/alice/multi"
    also_on = page.locator("#also-on")
    assert also_on.inner_text() == "Also on: beta.example.test:5000, copy.example.test"
    assert also_on.locator("code").all_inner_texts() == [
        "beta.example.test:5000",
        "copy.example.test",
    ]
    assert sql("SELECT count(*) FROM registry_turns") == [(0,)]


def test_list_rows_link_to_the_repository_page(visits, page, make_repo, add_tag):
    make_repo("alice/linked", visibility="public")
    add_tag("alice/linked", "v1")
    visits.go("/")
    page.get_by_role("link", name="alice/linked").click()
    page.wait_for_url(re.compile(r"/r/alice/linked$"))
    visits.check("repository")
    assert page.get_by_role("heading", level=1).inner_text() == "alice/linked"
    assert page.locator("#pull-command").inner_text() == "docker pull alice/linked"


def test_a_thousand_tags_are_paged_by_fifty(visits, page, make_repo, sql):
    make_repo("alice/many", visibility="public")
    sql(
        "WITH m AS (INSERT INTO manifests (repository_id, digest, size)"
        " SELECT id, 'sha256:' || repeat('e', 64), 10 FROM repositories"
        " WHERE full_name = 'alice/many' RETURNING id, repository_id)"
        " INSERT INTO tags (repository_id, name, manifest_id)"
        " SELECT m.repository_id, 't' || lpad(n::text, 4, '0'), m.id"
        " FROM m, generate_series(0, 999) n"
    )
    visits.go("/r/alice/many")
    names = page.get_by_role("table").locator("tbody th").all_inner_texts()
    assert names == [f"t{n:04d}" for n in range(50)]
    page.get_by_role("link", name="More tags").click()
    visits.check("page-2")
    names = page.get_by_role("table").locator("tbody th").all_inner_texts()
    assert names == [f"t{n:04d}" for n in range(50, 100)]


def test_star_and_unstar(visits, page, client, make_repo):
    make_repo("alice/starry", visibility="public")
    _sign_in(visits, page, "bob", "/r/alice/starry")
    assert page.locator("#star-count").inner_text() == "0"

    page.get_by_role("button", name="Star", exact=True).click()
    page.wait_for_selector("button:text-is('Unstar')")
    visits.check("starred")
    assert page.locator("#star-count").inner_text() == "1"
    starred = client.get(f"{API}/repositories/alice/starry/-/stars", headers=basic("bob")).json
    assert starred["starred"] is True

    page.get_by_role("button", name="Unstar").click()
    page.wait_for_selector("button:text-is('Star')")
    visits.check("unstarred")
    assert page.locator("#star-count").inner_text() == "0"


def test_comment_add_edit_delete(visits, page, make_repo):
    make_repo("alice/talk", visibility="public")
    _sign_in(visits, page, "bob", "/r/alice/talk")

    page.get_by_label("Add a comment (Markdown)").fill("Works *great* <script>alert(1)</script>")
    page.get_by_role("button", name="Comment").click()
    page.wait_for_url(re.compile(r"/r/alice/talk#comment-\d+$"))
    visits.check("added")
    listed = page.get_by_role("list", name="Comments, oldest first")
    assert listed.locator("em", has_text="great").count() == 1
    assert "<script>alert(1)</script>" in listed.inner_text()  # shown as text
    assert listed.locator("script").count() == 0

    listed.get_by_text("Edit", exact=True).click()
    page.get_by_label("Edit comment 1").fill("Works **well**")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"#comment-\d+$"))
    visits.check("edited")
    listed = page.get_by_role("list", name="Comments, oldest first")
    assert listed.locator("strong", has_text="well").count() == 1
    assert "(edited)" in listed.inner_text()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete comment 1").click()
    page.wait_for_selector("text=No comments yet.")
    visits.check("deleted")


def test_an_empty_comment_is_refused_keeping_the_form(client, uow, users, make_repo):
    make_repo("alice/talk", visibility="public")
    mine = _comment(uow, users, "bob", "alice/talk", "kept words")
    _client_signed_in(client, "bob")
    response = client.post(
        "/r/alice/talk/-/comments", data={"body": "   ", "csrf_token": _csrf(client)}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'role="alert" id="add-error"' in html and "1 to 10,000 characters" in html

    too_long = "&lt;b&gt;" + "x" * 10001
    response = client.post(
        f"/r/alice/talk/-/comments/{mine.id}",
        data={"body": "<b>" + "x" * 10001, "csrf_token": _csrf(client)},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="edit-error-{mine.id}"' in html and too_long in html  # the input, escaped
    assert '<details class="comment-edit" open>' in html
    bodies = [
        c["body"] for c in client.get(f"{API}/repositories/alice/talk/-/comments").json["items"]
    ]
    assert bodies == ["kept words"]


def test_only_the_author_and_admins_change_a_comment(client, uow, users, make_repo):
    make_repo("alice/talk", visibility="public")
    by_alice = _comment(uow, users, "alice", "alice/talk", "by alice")
    by_bob = _comment(uow, users, "bob", "alice/talk", "by bob")

    _client_signed_in(client, "bob")
    html = client.get("/r/alice/talk").get_data(as_text=True)
    assert f'action="/r/alice/talk/-/comments/{by_bob.id}"' in html  # his own: editable
    assert f'action="/r/alice/talk/-/comments/{by_alice.id}"' not in html
    denied = client.post(
        f"/r/alice/talk/-/comments/{by_alice.id}",
        data={"body": "defaced", "csrf_token": _csrf(client)},
    )
    assert denied.status_code == 403
    denied = client.post(
        f"/r/alice/talk/-/comments/{by_alice.id}/delete", data={"csrf_token": _csrf(client)}
    )
    assert denied.status_code == 403
    bodies = [
        c["body"] for c in client.get(f"{API}/repositories/alice/talk/-/comments").json["items"]
    ]
    assert bodies == ["by alice", "by bob"]

    client.post("/signout", data={"csrf_token": _csrf(client)})
    _client_signed_in(client, "carol")  # a site administrator moderates
    deleted = client.post(
        f"/r/alice/talk/-/comments/{by_bob.id}/delete", data={"csrf_token": _csrf(client)}
    )
    assert deleted.status_code == 303
    bodies = [
        c["body"] for c in client.get(f"{API}/repositories/alice/talk/-/comments").json["items"]
    ]
    assert bodies == ["by alice"]


def test_repository_admin_deletes_any_comment(client, uow, users, make_repo):
    make_repo("alice/talk", visibility="public")
    by_bob = _comment(uow, users, "bob", "alice/talk", "spam")
    _client_signed_in(client, "alice")
    deleted = client.post(
        f"/r/alice/talk/-/comments/{by_bob.id}/delete", data={"csrf_token": _csrf(client)}
    )
    assert deleted.status_code == 303
    assert client.get(f"{API}/repositories/alice/talk/-/comments").json["items"] == []


def test_markup_in_description_is_text_or_stripped(client, users, make_repo):
    make_repo(
        "alice/evil",
        visibility="public",
        description="<script>alert(1)</script> [x](javascript:alert(1)) ![i](https://t.example/i.png)",
    )
    html = client.get("/r/alice/evil").get_data(as_text=True)
    about = html[html.index('id="about-title"') : html.index('id="tags-title"')]
    assert "<script>" not in about and "&lt;script&gt;alert(1)&lt;/script&gt;" in about
    assert 'href="javascript' not in about  # left as text, never a link
    assert "<img" not in about


def test_private_repository_is_not_found_for_others(visits, page, client, make_repo, add_tag):
    make_repo("alice/secret", visibility="private", description="hidden words")
    add_tag("alice/secret", "v1")

    response = visits.go("/r/alice/secret")
    assert response.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
    assert "hidden words" not in page.content()
    missing = client.get("/r/alice/nothing-here")
    assert missing.status_code == 404
    assert client.get("/r/alice/secret").get_data() == missing.get_data().replace(
        b"alice/nothing-here", b"alice/secret"
    )

    _client_signed_in(client, "bob")
    assert client.get("/r/alice/secret").status_code == 404
    for path, data in (
        ("/r/alice/secret/-/star", {"star": "1"}),
        ("/r/alice/secret/-/comments", {"body": "hi"}),
    ):
        data["csrf_token"] = _csrf(client)
        assert client.post(path, data=data).status_code == 404

    _sign_in(visits, page, "alice", "/r/alice/secret")
    assert page.get_by_text("private", exact=True).is_visible()
    assert page.get_by_text("hidden words").is_visible()


def test_anonymous_visitors_are_sent_to_sign_in(client, users, make_repo):
    make_repo("alice/open", visibility="public")
    client.get("/signin")  # the form token of a visitor
    response = client.post(
        "/r/alice/open/-/comments", data={"body": "hi", "csrf_token": _csrf(client)}
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/signin?next=")
    html = client.get("/r/alice/open").get_data(as_text=True)
    assert "Sign in to comment" in html and 'name="body"' not in html


def test_forms_without_the_csrf_token_are_refused(client, uow, users, make_repo):
    make_repo("alice/talk", visibility="public")
    mine = _comment(uow, users, "bob", "alice/talk", "mine")
    _client_signed_in(client, "bob")
    for path, data in (
        ("/r/alice/talk/-/star", {"star": "1"}),
        ("/r/alice/talk/-/comments", {"body": "forged"}),
        (f"/r/alice/talk/-/comments/{mine.id}", {"body": "forged"}),
        (f"/r/alice/talk/-/comments/{mine.id}/delete", {}),
    ):
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert "form expired" in response.get_data(as_text=True)
    stars = client.get(f"{API}/repositories/alice/talk/-/stars").json
    assert stars["star_count"] == 0
    bodies = [
        c["body"] for c in client.get(f"{API}/repositories/alice/talk/-/comments").json["items"]
    ]
    assert bodies == ["mine"]


def test_repository_page_holds_no_inline_script_or_style(client, users, make_repo):
    make_repo("alice/plain", visibility="public", description="*hi*")
    html = client.get("/r/alice/plain").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html and "<style" not in html
    assert re.search(r' on[a-z]+="', html) is None


def test_dark_theme_and_phone_width(browser, server, request, make_repo, add_tag):
    from .browser import Visits

    make_repo(
        "alice/a-rather-long-repository-name/with/several/parts",
        visibility="public",
        description="A `long` line: " + "word " * 60,
    )
    add_tag("alice/a-rather-long-repository-name/with/several/parts", "v1.2.3-alpine3.20")
    context = browser.new_context(color_scheme="dark", viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        visits = Visits(page, server.url, request.node.name)
        visits.go("/r/alice/a-rather-long-repository-name/with/several/parts")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360  # the tags table scrolls inside its box, nothing else overflows
    finally:
        context.close()


def test_readme_is_rendered_below_the_description_and_sanitised(
    visits, page, uow, users, make_repo
):
    make_repo("alice/docs", visibility="public", description="Short *summary*.")
    alice = principals.principal_for(uow, users["alice"])
    readme = (
        "# Usage\n\nRun it with `docker run`.\n\n"
        "<script>window.pwned = 1</script>\n\n"
        '<img src="x" onerror="window.pwned = 2">\n\n'
        "[click](javascript:window.pwned=3) and [site](https://example.com/)\n"
    )
    repositories.set_readme(uow, alice, "alice/docs", readme)

    response = visits.go("/r/alice/docs")

    assert response.status == 200
    about = page.locator("section[aria-labelledby=about-title]")
    assert about.locator("em", has_text="summary").count() == 1
    assert "Usage" not in about.inner_text()  # the README is apart from the description
    shown = page.locator(".markdown.readme")
    assert page.get_by_role("heading", name="README", level=2).is_visible()
    assert shown.locator("h3", has_text="Usage").count() == 1
    assert shown.locator("code", has_text="docker run").count() == 1
    assert "<script>window.pwned = 1</script>" in shown.inner_text()  # shown as text
    assert shown.locator("script, img").count() == 0
    assert shown.get_by_role("link", name="site").get_attribute("rel") == (
        "noopener noreferrer nofollow"
    )
    assert shown.get_by_role("link", name="click").count() == 0  # javascript: is no link
    assert page.evaluate("window.pwned === undefined")


def test_no_readme_no_readme_section(client, users, make_repo):
    make_repo("alice/bare", visibility="public", description="just this")
    html = client.get("/r/alice/bare").get_data(as_text=True)
    assert "just this" in html and 'id="readme-title"' not in html
