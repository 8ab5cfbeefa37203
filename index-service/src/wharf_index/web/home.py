"""``GET /``: the search box, recently pushed and most starred public repositories."""

from __future__ import annotations

from flask import render_template

from ..context import uow
from ..services import explore
from . import bp


@bp.get("/")
def home():
    recent, starred = explore.home(uow())
    return render_template("home.html", recent=recent, starred=starred)
