"""/admin/registries shows each registry's weight and upstream, and the namespace routes."""

from __future__ import annotations

from wharf_index.domain.model import SYSTEM
from wharf_index.services import registries, routes

from .test_admin_pages import _row, sign_in


def test_the_registry_page_shows_weights_upstreams_and_routes(visits, page, uow, users):
    registries.add_registry(
        uow, "reg.example.test", "https://reg.example.test", "private", weight=3, actor=SYSTEM
    )
    registries.add_registry(
        uow,
        "copy.example.test",
        "https://copy.example.test",
        "mirror",
        ["alice"],
        upstream="reg.example.test",
        weight=0,
        actor=SYSTEM,
    )
    sign_in(page, visits, "carol")
    visits.go("/admin/registries")
    assert page.get_by_text("Namespace routes").count() == 0  # none yet: no section
    cells = _row(page, "copy.example.test").get_by_role("cell").all_inner_texts()
    assert cells[:5] == ["mirror", "https://copy.example.test", "alice", "0", "reg.example.test"]
    cells = _row(page, "reg.example.test").get_by_role("cell").all_inner_texts()
    assert cells[3:5] == ["3", "none"]

    routes.set_route(uow, "acme", ["reg.example.test"])
    visits.go("/admin/registries")
    visits.check("routes")
    assert page.locator("#routes li").all_inner_texts() == ["acme → reg.example.test"]


def _change(page, name: str, *, kind=None, weight=None, upstream=None, validate=True):
    """Open ``name``'s change form, set what is given and save; the navigation's status."""
    row = _changer(page, name)
    row.locator("summary").click()
    if kind is not None:
        page.get_by_label(f"Kind of {name}").select_option(kind)
    if weight is not None:
        page.get_by_label(f"Weight of {name}").fill(weight)
    if upstream is not None:
        page.get_by_label(f"Upstream of {name}").select_option(upstream)
    if not validate:  # what a script or an older browser may send
        row.locator("form.stacked").evaluate("form => { form.noValidate = true; }")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=f"Save {name}", exact=True).click()
    return navigation.value.status


def _changer(page, name: str):
    """The change form of ``name`` (a disclosure below the table, named by the registry)."""
    return page.locator("details.registry-change", has=page.locator(f"summary:text-is('{name}')"))


def _updates(uow) -> list[dict]:
    with uow:
        return [e.detail for e in uow.audit.list(limit=50) if e.action == "registry.update"]


def test_an_administrator_changes_kind_weight_and_upstream_in_the_form(visits, page, uow, users):
    for name, kind, options in (
        ("reg.example.test", "private", {}),
        ("copy.example.test", "mirror", {"upstream": "reg.example.test"}),
        ("spare.example.test", "sponsor", {}),
    ):
        registries.add_registry(
            uow, name, f"https://{name}", kind, ["alice"], actor=SYSTEM, **options
        )
    sign_in(page, visits, "carol")
    visits.go("/admin/registries")
    visits.check("closed")
    assert page.get_by_label("Kind of spare.example.test").is_hidden()  # until opened

    assert _change(page, "spare.example.test", kind="mirror", weight="5",
                   upstream="reg.example.test") == 200  # fmt: skip
    assert page.url.endswith("/admin/registries")
    visits.check("changed")
    cells = _row(page, "spare.example.test").get_by_role("cell").all_inner_texts()
    assert cells[:5] == ["mirror", "https://spare.example.test", "alice", "5", "reg.example.test"]
    changed = registries.get_registry(uow, "spare.example.test")
    assert (changed.kind, changed.weight, changed.upstream) == ("mirror", 5, "reg.example.test")
    assert _updates(uow) == [
        {"kind": "mirror", "weight": 5, "upstream": "reg.example.test", "previous_kind": "sponsor"}
    ]

    # A cycle: reg would mirror its own mirror. Refused, said so, the values kept.
    status = _change(page, "reg.example.test", kind="mirror", upstream="copy.example.test")
    assert status == 409
    visits.check("cycle")
    alert = _changer(page, "reg.example.test").get_by_role("alert")
    assert alert.inner_text() == "copy.example.test mirrors reg.example.test: that is a cycle"
    assert page.get_by_label("Kind of reg.example.test").input_value() == "mirror"
    assert page.get_by_label("Upstream of reg.example.test").input_value() == "copy.example.test"
    assert registries.get_registry(uow, "reg.example.test").kind == "private"  # all or nothing

    # A weight out of range, past the browser's own check.
    visits.go("/admin/registries")
    assert _change(page, "copy.example.test", weight="150", validate=False) == 400
    visits.check("bad-weight")
    alert = _changer(page, "copy.example.test").get_by_role("alert")
    assert alert.inner_text() == "weight must be an integer from 0 to 100"
    assert page.get_by_label("Weight of copy.example.test").input_value() == "150"

    # An upstream removed after the page was shown.
    visits.go("/admin/registries")
    registries.remove_registry(uow, "spare.example.test")
    assert _change(page, "copy.example.test", upstream="spare.example.test") == 409
    visits.check("unknown-upstream")
    alert = _changer(page, "copy.example.test").get_by_role("alert")
    assert alert.inner_text() == "no registry named spare.example.test"
    assert registries.get_registry(uow, "copy.example.test").upstream == "reg.example.test"

    # A registry removed after the page was shown: Not found, said above the table.
    visits.go("/admin/registries")
    registries.remove_registry(uow, "reg.example.test")
    assert _change(page, "reg.example.test", weight="2") == 404
    visits.check("removed")
    assert "reg.example.test" in page.locator("#registries-error").inner_text()
    assert _changer(page, "reg.example.test").count() == 0

    # Saving what is already recorded changes nothing and writes no audit row.
    visits.go("/admin/registries")
    assert _change(page, "copy.example.test") == 200
    assert len(_updates(uow)) == 1
