"""Blobs: content-addressed bytes, visible in a repository only through its link.

A blob exists once (``blobs/<alg>/<xx>/<hex>/data``) and is linked into each repository that
uploaded or mounted it (``_layers/<alg>/<hex>/link``). Every read by a repository checks the
link first, so a repository sees only its own blobs (spec: a blob is "gated by the name of
the repository").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import BinaryIO

from wharf_protocol.digests import Digest

from ..storage.base import FileInfo, PathNotFound, StorageDriver
from . import paths
from .errors import BlobUnknown, NameUnknown

logger = logging.getLogger(__name__)


class BlobStore:
    """Repository-scoped access to blobs over a storage driver."""

    def __init__(self, driver: StorageDriver) -> None:
        self.driver = driver

    def size(self, digest: Digest) -> int:
        """Return the size of the stored blob ``digest``; BlobUnknown if it is not stored."""
        try:
            return self.driver.stat(paths.blob_data(digest)).size
        except PathNotFound:
            raise BlobUnknown(digest) from None

    def info(self, digest: Digest) -> FileInfo:
        """Return size and mtime of the stored blob ``digest``; BlobUnknown if not stored."""
        try:
            return self.driver.stat(paths.blob_data(digest))
        except PathNotFound:
            raise BlobUnknown(digest) from None

    def is_linked(self, name: str, digest: Digest) -> bool:
        """Tell whether ``digest`` is linked into repository ``name``."""
        try:
            self.driver.stat(paths.layer_link(name, digest))
        except PathNotFound:
            return False
        return True

    def stat(self, name: str, digest: Digest) -> int:
        """Return the size of blob ``digest`` as seen by ``name``; BlobUnknown if not linked."""
        if not self.is_linked(name, digest):
            raise BlobUnknown(digest)
        return self.size(digest)

    def link(self, name: str, digest: Digest) -> None:
        """Make the stored blob ``digest`` visible in ``name`` (idempotent)."""
        self.driver.put_content(paths.layer_link(name, digest), str(digest).encode())

    def unlink(self, name: str, digest: Digest) -> None:
        """Remove ``digest`` from ``name`` (end-10); BlobUnknown if it was not linked.

        The bytes stay in ``blobs/`` for other repositories; garbage collection (``gc.py``)
        frees them once no manifest references them.
        """
        try:
            self.driver.delete(paths.layer_link(name, digest).rsplit("/", 1)[0])
        except PathNotFound:
            raise BlobUnknown(digest) from None

    def mount(
        self,
        name: str,
        digest: Digest,
        source: str,
        admit: Callable[[int], None] | None = None,
    ) -> int | None:
        """Link ``digest`` into ``name`` if ``source`` has it (end-11); return its size or None.

        ``admit(size)`` is called before the link; what it raises leaves nothing linked."""
        if source == name or not self.is_linked(source, digest):
            return None
        try:
            size = self.size(digest)
        except BlobUnknown:
            return None
        if admit is not None:
            admit(size)
        self.link(name, digest)
        return size

    def open(self, digest: Digest, offset: int = 0) -> BinaryIO:
        """Open the bytes of ``digest`` at ``offset`` (the caller checked the link)."""
        try:
            return self.driver.reader(paths.blob_data(digest), offset)
        except PathNotFound:
            raise BlobUnknown(digest) from None

    def local_path(self, digest: Digest) -> str | None:
        """Return a real file path for sendfile, when the driver has one."""
        return self.driver.local_path(paths.blob_data(digest))

    def redirect_url(self, digest: Digest) -> str | None:
        """Return a presigned download URL, when the driver offers one."""
        return self.driver.redirect_url(paths.blob_data(digest))

    def repository_exists(self, name: str) -> bool:
        """Tell whether ``name`` has manifests or blobs."""
        for path in (paths.manifests(name), paths.layers(name)):
            try:
                self.driver.stat(path)
            except PathNotFound:
                continue
            return True
        return False

    def require_repository(self, name: str) -> None:
        """Raise NameUnknown unless ``name`` exists."""
        if not self.repository_exists(name):
            raise NameUnknown(name)
