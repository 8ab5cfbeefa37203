"""``GET /r/<namespace>/<name...>/-/tags/<tag>[?platform=<digest>]``: one tag of a
repository: its manifest (or, for an index, one row per platform, each selectable), the
layers with their sizes, the image config, the raw manifest and its referrers.

services/image_details.py assembles it from the Index's record and the registry holding
the repository; a registry that cannot be reached gives a notice, not an error. A
repository the visitor may not see, an unknown tag and an unknown platform are "Not
found". Repository names use the API's ``api_repo`` converter (api/rest/__init__.py:
registered on the app, two or more components, none starting with ``-``).
"""

from __future__ import annotations

from flask import render_template, request

from ..context import current, uow
from ..services import image_details
from . import bp
from .session import principal


@bp.get("/r/<api_repo:name>/-/tags/<tag>")
def tag_page(name: str, tag: str):
    platform = request.args.get("platform") or None
    details = image_details.tag_details(
        uow(), current().agent, principal(), name, tag, platform=platform
    )
    return render_template("tag.html", d=details, name=name)
