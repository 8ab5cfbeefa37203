"""OCI content semantics written once over any storage driver (see ``paths.py`` for the layout).

:class:`Content` bundles the stores of one registry; the API layer reaches it through
``app.extensions["registry"].content``.
"""

from __future__ import annotations

from ..storage.base import StorageDriver
from .blobs import BlobStore
from .catalog import Catalog
from .liveness import Liveness
from .manifests import ManifestStore
from .referrers import ReferrersIndex
from .repositories import RepositoryStore
from .tags import TagStore
from .uploads import HasherCache, UploadSessions

__all__ = ["Content"]


class Content:
    """The content stores of one registry, sharing one driver and one hasher cache."""

    def __init__(
        self,
        driver: StorageDriver,
        *,
        manifest_max_size: int = 4 << 20,
        liveness: Liveness | None = None,
    ) -> None:
        self.driver = driver
        self.liveness = liveness or Liveness(driver)
        self.blobs = BlobStore(driver)
        self.uploads = UploadSessions(driver, self.blobs, HasherCache(), self.liveness)
        self.tags = TagStore(driver, self.blobs)
        self.referrers = ReferrersIndex(driver)
        self.manifests = ManifestStore(
            driver, self.blobs, self.tags, self.referrers, manifest_max_size, self.liveness
        )
        self.catalog = Catalog(driver)
        self.repositories = RepositoryStore(driver)
