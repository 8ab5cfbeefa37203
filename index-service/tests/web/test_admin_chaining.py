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
