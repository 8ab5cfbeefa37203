"""People's paths through the Index's web pages, in a real browser, against the real Index
and registry processes.

chromium (Playwright, :mod:`wharf_testing.browser`) runs where pytest runs (inside the
sandbox: the bridge's namespace, which reaches every host) and opens the Index at its host's
address; skopeo pushes and pulls on the client host. Every page visited is screenshotted
(``test-artifacts/screenshots/<test>/<person>/``) and checked with axe-core.

The journeys follow one repository, ``acme/app``, and run in the order of this file: alice
creates the organisation and pushes; the administrator sees the registry's outbox (asked of
the registry process); stars and comments; makes it private (bob and an
anonymous visitor lose it); creates an access token skopeo uses; deletes a tag, then the
repository. Each later journey fails at once, saying so, when the first did not push.
Repositories are
public when created here (``INDEX_DEFAULT_VISIBILITY=public``), so that making one private
is a change the other visitors notice.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from oci_client import Image, write_index_layout
from playwright.sync_api import Browser, Page, expect, sync_playwright
from stack import PASSWORDS, Stack, wait_for
from wharf_index.web.formatting import size as shown_size
from wharf_testing.browser import CHROMIUM_ARGS, Visits, chromium_path

REPOSITORY = "acme/app"


@dataclass
class Pushed:
    """What alice pushed to :data:`REPOSITORY`: ``1.0`` a two-platform index, ``latest``
    one image."""

    platforms: dict[str, Image]
    latest: Image


@pytest.fixture(scope="module")
def stack(make_stack) -> Iterator[Stack]:
    made = make_stack(index_env={"INDEX_DEFAULT_VISIBILITY": "public"})
    made.bootstrap()
    made.add_registry("reg1", "registry", ["alice", "bob", "acme"])
    yield made
    made.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def person(browser, stack, request):
    """Factory ``(name) -> Visits``: a browser of its own (cookies and all) for ``name``
    (``"anonymous"`` included), signed in unless anonymous; closed at the end of the test."""
    contexts = []

    def make(name: str) -> Visits:
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # "Delete ...?": a person says yes
        visits = Visits(page, stack.index.url, request.node.name, person=name)
        if name != "anonymous":
            sign_in(visits, name)
        return visits

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def pushed() -> dict:
    """Filled by the first journey (the push); later journeys read it."""
    return {}


def sign_in(visits: Visits, name: str) -> None:
    page = visits.page
    visits.go("/signin")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()
    visits.check("signed-in")
    expect(page.locator("a.who")).to_have_text(name)


def short(digest: str) -> str:
    """A digest as the repository page shows it."""
    return digest.partition(":")[2][:12]


def tag_row(page: Page, tag: str):
    return page.locator("table.tags tbody tr").filter(
        has=page.get_by_role("rowheader", name=tag, exact=True)
    )


def not_found(visits: Visits, path: str) -> None:
    response = visits.go(path)
    assert response.status == 404, (path, response.status)
    expect(visits.page.get_by_role("heading", level=1)).to_have_text("Not found")


# -- 1. an organisation, a push, and what the pages show of it -------------------------------


def test_alice_creates_an_organisation_pushes_and_finds_her_image(stack, person, pushed):
    alice = person("alice")
    page = alice.page

    alice.go("/orgs/new")
    page.get_by_label("Name").fill("acme")
    page.get_by_label("Contact email (optional)").fill("ops@acme.example")
    page.get_by_role("button", name="Create organisation").click()
    alice.check("org-created")
    assert page.url.endswith("/orgs/acme"), page.url
    expect(page.get_by_role("heading", level=1)).to_contain_text("acme")

    alice.go("/orgs/acme/-/teams")
    page.get_by_label("Team name").fill("builders")
    page.get_by_label("Role").select_option("write")
    page.get_by_label("Description (optional)").fill("They push the images")
    page.get_by_role("button", name="Create team").click()
    alice.check("team-created")
    expect(page.get_by_role("heading", level=2, name=re.compile("builders"))).to_contain_text(
        "write"
    )

    # skopeo pushes 1.0 (an index of two platforms) and latest (one image).
    platforms = {
        "linux/amd64": Image.random(layers=2, label="app-amd64", arch="amd64"),
        "linux/arm64": Image.random(layers=1, label="app-arm64", arch="arm64"),
    }
    latest = Image.random(layers=2, size=6000, label="app-latest")
    registry = stack.registries["reg1"].address
    skopeo = stack.login("alice")
    multi = write_index_layout(platforms, os.path.join(stack.workdir, "app-multi"), "1.0")
    skopeo.copy(multi, f"docker://{registry}/{REPOSITORY}:1.0", all_images=True, check=True)
    single = latest.write_layout(os.path.join(stack.workdir, "app-latest"), "latest")
    skopeo.copy(single, f"docker://{registry}/{REPOSITORY}:latest", check=True)
    tags = wait_for(
        lambda: (t := stack.tags_at_index(REPOSITORY, "alice")).keys() == {"1.0", "latest"} and t,
        timeout=30,
        message="the Index to record both tags",
    )
    pushed.update(platforms=platforms, latest=latest, tags=tags)

    # The home page's search finds it.
    alice.go("/")
    page.locator("main").get_by_label("Search repositories").fill("app")
    page.locator("main").get_by_role("button", name="Search").click()
    alice.check("search-app")
    found = page.locator("main").get_by_role("link", name=REPOSITORY, exact=True)
    expect(found).to_be_visible()
    found.click()
    alice.check("repository")

    # The repository page: each tag, its short digest and its size.
    expect(page.get_by_role("heading", level=1)).to_have_text(REPOSITORY)
    index_digest = tags["1.0"]["digest"]
    expect(tag_row(page, "1.0")).to_contain_text(short(index_digest))
    expect(tag_row(page, "latest")).to_contain_text(short(latest.digest))
    latest_size = len(latest.manifest) + sum(len(layer) for layer in latest.layers)
    expect(tag_row(page, "latest")).to_contain_text(shown_size(latest_size))

    # The index's tag page: its platforms; one platform's layers and sizes.
    page.get_by_role("link", name="1.0", exact=True).click()
    alice.check("tag-1.0")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{REPOSITORY}:1.0")
    expect(page.locator("#tag-digest")).to_have_text(index_digest)
    table = page.get_by_role("table").filter(has_text="Platform")
    for label, image in platforms.items():
        row = table.locator("tbody tr").filter(has=page.get_by_role("rowheader", name=label))
        expect(row).to_contain_text(image.digest)
        expect(row).to_contain_text(shown_size(len(image.manifest)))
    page.get_by_role("link", name="linux/arm64").click()
    alice.check("tag-1.0-arm64")
    arm = platforms["linux/arm64"]
    expect(page.get_by_role("heading", name="Platform linux/arm64")).to_be_visible()
    layers = page.locator("section", has=page.get_by_role("heading", name="Layers"))
    for layer, digest in zip(arm.layers, arm.layer_digests, strict=True):
        row = layers.locator("tbody tr").filter(has_text=digest)
        expect(row).to_contain_text(shown_size(len(layer)))

    # The single image's tag page: its layers and their sizes.
    alice.go(f"/r/{REPOSITORY}/-/tags/latest")
    expect(page.locator("#tag-digest")).to_have_text(latest.digest)
    layers = page.locator("section", has=page.get_by_role("heading", name="Layers"))
    expect(layers.locator("tbody tr")).to_have_count(len(latest.layers))
    for layer, digest in zip(latest.layers, latest.layer_digests, strict=True):
        expect(layers.locator("tbody tr").filter(has_text=digest)).to_contain_text(
            shown_size(len(layer))
        )
    total = sum(len(layer) for layer in latest.layers)
    expect(page.locator("#total-size")).to_have_text(shown_size(total))


def test_the_administrator_sees_the_registry_and_its_outbox(stack, person):
    """The registries page asks the registry process its outbox status over HTTP."""
    visits = person("sysop")
    visits.go("/admin/registries")
    visits.check("registries")
    row = visits.page.locator("tbody tr").filter(
        has=visits.page.get_by_role("rowheader", name="reg1", exact=True)
    )
    expect(row.locator("td.outbox")).to_have_text(
        re.compile(r"^\s*(nothing pending|[\d,]+ pending, oldest \d+ (s|min))\s*$")
    )


# -- 2. a star and a comment ------------------------------------------------------------------


def test_alice_stars_and_comments(stack, person, pushed):
    assert pushed, "the first journey pushes the repository"
    alice = person("alice")
    page = alice.page
    alice.go(f"/r/{REPOSITORY}")
    expect(page.locator("#star-count")).to_have_text("0")
    page.get_by_role("button", name="Star", exact=True).click()
    alice.check("starred")
    expect(page.locator("#star-count")).to_have_text("1")
    expect(page.get_by_role("button", name="Unstar")).to_be_visible()

    body = "Runs on **arm64** too. <script>document.title = 'owned'</script>"
    page.get_by_label("Add a comment (Markdown)").fill(body)
    page.get_by_role("button", name="Comment", exact=True).click()
    alice.check("commented")
    comments = page.get_by_role("list", name="Comments, oldest first")
    comment = comments.get_by_role("listitem").last
    expect(comment).to_contain_text("alice")
    expect(comment.locator("strong", has_text="arm64")).to_be_visible()
    expect(comment).to_contain_text("<script>document.title = 'owned'</script>")
    assert comment.locator("script").count() == 0
    assert page.title() != "owned"

    # Another visitor sees the star and the comment as well.
    anonymous = person("anonymous")
    anonymous.go(f"/r/{REPOSITORY}")
    expect(anonymous.page.locator("#star-count")).to_have_text("1")
    expect(anonymous.page.locator("#comments")).to_contain_text("<script>")


# -- 3. private: gone for everyone else ------------------------------------------------------


def listed(visits: Visits, text: str) -> bool:
    """Whether the search page lists :data:`REPOSITORY` for ``text``."""
    visits.go(f"/search?q={text}")
    results = visits.page.get_by_role("list", name="Search results")
    return results.get_by_role("link", name=REPOSITORY, exact=True).count() > 0


def test_alice_makes_it_private_and_others_no_longer_see_it(stack, person, pushed):
    assert pushed, "the first journey pushes the repository"
    bob, anonymous = person("bob"), person("anonymous")
    for visitor in (bob, anonymous):  # public until now
        assert visitor.go(f"/r/{REPOSITORY}").status == 200
        assert visitor.go(f"/r/{REPOSITORY}/-/tags/1.0").status == 200
        assert listed(visitor, "app")

    alice = person("alice")
    page = alice.page
    alice.go(f"/r/{REPOSITORY}/-/settings")
    page.get_by_label("Private: only those given access").check()
    page.get_by_role("button", name="Save", exact=True).click()
    alice.check("made-private")
    expect(page.get_by_label("Private: only those given access")).to_be_checked()
    alice.go(f"/r/{REPOSITORY}")
    expect(page.locator(".repo-head .badge")).to_have_text("private")
    assert listed(alice, "app")

    not_found(bob, f"/r/{REPOSITORY}/-/settings")
    for visitor in (bob, anonymous):
        not_found(visitor, f"/r/{REPOSITORY}")
        not_found(visitor, f"/r/{REPOSITORY}/-/tags/1.0")
        assert not listed(visitor, "app")
        visitor.go("/")
        expect(visitor.page.locator("main")).not_to_contain_text(REPOSITORY)


# -- 4. an access token, shown once, used by skopeo -------------------------------------------


def test_alice_creates_an_access_token_and_skopeo_uses_it(stack, person, pushed):
    assert pushed, "the first journey pushes the repository"
    alice = person("alice")
    page = alice.page
    alice.go("/account/tokens")
    page.get_by_label("Name", exact=True).fill("ci")
    page.get_by_label("Repositories", exact=True).fill("acme/*")
    page.get_by_label("pull", exact=True).check()
    page.get_by_role("button", name="Create token").click()
    alice.check("token-created")
    expect(page.get_by_role("status")).to_contain_text("shown only this once")
    secret = page.locator("#new-token").inner_text().strip()
    assert len(secret) >= 20, secret
    expect(page.get_by_role("rowheader", name="ci", exact=True)).to_be_visible()
    alice.go("/account/tokens")  # shown once: not on the next visit
    expect(page.locator("main")).not_to_contain_text(secret)
    expect(page.get_by_role("rowheader", name="ci", exact=True)).to_be_visible()

    registry = stack.registries["reg1"].address
    reference = f"{registry}/{REPOSITORY}:latest"
    latest = pushed["latest"]
    logged_in = stack.skopeo("alice-token")
    logged_in.login(registry, "alice", secret)
    inspected = logged_in.inspect(reference, check=True)
    assert json.loads(inspected.stdout)["Digest"] == latest.digest
    once = stack.skopeo("alice-creds")  # no login: the token on the command line
    result = once.inspect(reference, creds=f"alice:{secret}", check=True)
    assert json.loads(result.stdout)["Digest"] == latest.digest
    # The repository is private: without the token, or with a wrong one, nothing.
    assert once.inspect(reference).returncode != 0
    assert once.inspect(reference, creds="alice:not-the-token").returncode != 0


# -- 5. a tag, then the repository, deleted on the settings page ------------------------------


def test_alice_deletes_a_tag_then_the_repository(stack, person, pushed):
    assert pushed, "the first journey pushes the repository"
    alice = person("alice")
    page = alice.page
    registry = stack.registries["reg1"].address
    skopeo = stack.login("alice")
    assert skopeo.inspect(f"{registry}/{REPOSITORY}:latest").returncode == 0

    alice.go(f"/r/{REPOSITORY}/-/settings")
    page.get_by_label("Tag", exact=True).select_option("latest")
    page.get_by_role("button", name="Delete this tag…").click()
    alice.check("confirm-tag-deletion")
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete tag latest?")
    page.get_by_role("button", name="Delete latest").click()
    alice.check("tag-deleted")
    assert skopeo.inspect(f"{registry}/{REPOSITORY}:latest").returncode != 0
    assert skopeo.inspect(f"{registry}/{REPOSITORY}:1.0").returncode == 0
    not_found(alice, f"/r/{REPOSITORY}/-/tags/latest")
    alice.go(f"/r/{REPOSITORY}")
    expect(tag_row(page, "1.0")).to_be_visible()
    expect(tag_row(page, "latest")).to_have_count(0)

    alice.go(f"/r/{REPOSITORY}/-/settings")
    page.get_by_label(f"Type {REPOSITORY} to confirm").fill("acme/other")  # a slip: refused
    page.get_by_role("button", name="Delete this repository").click()
    alice.check("delete-refused")
    expect(page.get_by_role("alert")).to_contain_text(REPOSITORY)
    assert skopeo.inspect(f"{registry}/{REPOSITORY}:1.0").returncode == 0
    page.get_by_label(f"Type {REPOSITORY} to confirm").fill(REPOSITORY)
    page.get_by_role("button", name="Delete this repository").click()
    alice.check("repository-deleted")
    wait_for(
        lambda: skopeo.inspect(f"{registry}/{REPOSITORY}:1.0").returncode != 0,
        timeout=30,
        message="the registry to stop serving the deleted repository",
    )
    not_found(alice, f"/r/{REPOSITORY}")
    not_found(alice, f"/r/{REPOSITORY}/-/tags/1.0")
    assert not listed(alice, "app")
