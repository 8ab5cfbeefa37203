"""Whole repositories: deletion (Wharf's ``DELETE /v2/_wharf/repositories/<name>``, scenario C).

Deleting a repository removes, in this order, what makes it visible: its tags
(``_manifests/tags``, so pulls by tag stop first), its manifest revision links
(``_manifests``), its referrers index (``_referrers``), its blob links (``_layers``) and its open
upload sessions (``_uploads``, with their data). Blobs stay in ``blobs/``: other repositories may
link them, and garbage collection removes the unreferenced ones. Repositories nested under the
name (``a/b`` below ``a``) are separate repositories and are kept.

Every step ignores what is already gone, so a deletion repeated after a crash completes, and
deleting a repository that does not exist succeeds.
"""

from __future__ import annotations

import logging

from ..storage.base import PathNotFound, StorageDriver
from . import paths

logger = logging.getLogger(__name__)

#: Children of ``repositories/<name>/`` owned by the repository, deleted in this order.
OWNED = ("_manifests/tags", "_manifests", "_referrers", "_layers", "_uploads")


class RepositoryStore:
    """Operations on a repository as a whole."""

    def __init__(self, driver: StorageDriver) -> None:
        self.driver = driver

    def delete(self, name: str) -> bool:
        """Delete everything of ``name`` but its blobs; return whether anything was there."""
        found = False
        for part in OWNED:
            try:
                self.driver.delete(f"{paths.repository(name)}/{part}")
            except PathNotFound:
                continue
            found = True
        logger.info("repository %s deleted%s", name, "" if found else " (already gone)")
        return found
