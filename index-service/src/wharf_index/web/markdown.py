"""Markdown for user text (descriptions, comments) as safe HTML.

Rendering: markdown-it-py's ``commonmark`` preset (CommonMark 0.31) with raw HTML disabled,
so ``<script>`` in the source stays text; images are disabled too (``![alt](url)`` is a
link: the pages' Content-Security-Policy loads images from the Index only, and a remote
image would tell its host who reads the page). nh3 (the Rust ``ammonia`` sanitiser) then
removes anything not in :data:`TAGS`/:data:`ATTRIBUTES`, keeps only :data:`URL_SCHEMES`
in links and gives every link ``rel="noopener noreferrer nofollow"``. Headings move down
:data:`HEADING_OFFSET` levels (``#`` is ``<h3>``): user text sits under the page's own
``<h1>`` and ``<h2>`` and must not compete with them. Only the output of
:func:`render` may be marked ``|safe`` in templates (``{{ text | markdown }}``).
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

#: Tags the renderer may produce (CommonMark's output without raw HTML and images).
TAGS = frozenset(
    {
        "a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
        "li", "ol", "p", "pre", "strong", "ul",
    }
)  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
REL = "noopener noreferrer nofollow"
HEADING_OFFSET = 2

_renderer = MarkdownIt("commonmark", {"html": False}).disable("image")


def render(text: str | None) -> Markup:
    """``text`` (Markdown) as sanitised HTML, safe to insert into a page."""
    tokens = _renderer.parse(text or "")
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + HEADING_OFFSET)}"
    cleaned = nh3.clean(
        _renderer.renderer.render(tokens, _renderer.options, {}),
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=REL,
        strip_comments=True,
    )
    return Markup(cleaned)  # noqa: S704 - sanitised by nh3 just above
