"""URL converter for repository names, which contain slashes (``library/ubuntu``).

The converter matches any non-empty path (werkzeug's ``path`` pattern, non-greedy, so the
fixed tail of each route decides where the name ends); the grammar of
:mod:`wharf_protocol.names` is then enforced by ``api/access.py`` so that a bad name is
answered ``400 NAME_INVALID`` rather than an anonymous ``404``.
"""

from __future__ import annotations

from werkzeug.routing import PathConverter


class RepoNameConverter(PathConverter):
    """``<repo:name>``: a candidate repository name (validated later, see module docstring)."""

    regex = "[^/].*?"
    part_isolating = False
