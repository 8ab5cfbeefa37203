"""Tags: names pointing at manifest digests (end-3 by tag, end-7 with a tag, end-8, end-9).

A tag is a directory ``_manifests/tags/<tag>/`` whose ``current/link`` holds the digest; the
link is replaced atomically, so two pushes of one tag at once leave one of the two digests.
Listing pages through the driver's sorted ``list(start_after, limit)``: a page of ``n`` tags
costs one listing of at most ``n + 1`` entries, not a walk of the whole repository.
"""

from __future__ import annotations

from wharf_protocol.digests import Digest, DigestInvalid

from ..storage.base import PathNotFound, StorageDriver
from . import paths
from .blobs import BlobStore
from .errors import ManifestUnknown


class TagStore:
    """Resolve, set, delete and list the tags of a repository."""

    def __init__(self, driver: StorageDriver, blobs: BlobStore) -> None:
        self.driver = driver
        self.blobs = blobs

    def resolve(self, name: str, tag: str) -> Digest:
        """Return the digest ``tag`` points at; ManifestUnknown if the tag does not exist."""
        try:
            raw = self.driver.get_content(paths.tag_current(name, tag))
            return Digest.parse(raw.decode().strip())
        except (PathNotFound, DigestInvalid, UnicodeDecodeError):
            raise ManifestUnknown(tag) from None

    def set(self, name: str, tag: str, digest: Digest) -> None:
        """Point ``tag`` at ``digest`` (index entry first, then the current link)."""
        link = str(digest).encode()
        self.driver.put_content(paths.tag_index_link(name, tag, digest), link)
        self.driver.put_content(paths.tag_current(name, tag), link)

    def delete(self, name: str, tag: str) -> Digest:
        """Remove ``tag``; return the digest it pointed at. ManifestUnknown if missing."""
        digest = self.resolve(name, tag)
        try:
            self.driver.delete(paths.tag_dir(name, tag))
        except PathNotFound:
            raise ManifestUnknown(tag) from None
        return digest

    def tags_of(self, name: str, digest: Digest) -> list[str]:
        """Return every tag pointing at ``digest`` (walks all tags: for deletes only)."""
        found, last = [], None
        while page := self.page(name, 1000, last)[0]:
            for tag in page:
                try:
                    if self.resolve(name, tag) == digest:
                        found.append(tag)
                except ManifestUnknown:
                    continue
            last = page[-1]
        return found

    def page(self, name: str, n: int, last: str | None) -> tuple[list[str], bool]:
        """Return up to ``n`` tags sorted after ``last`` and whether more follow.

        The repository must exist (the caller checks); an empty repository gives ``[]``.
        """
        if n <= 0:
            return [], False
        start = paths.tag_dir(name, last) if last else None
        try:
            found = self.driver.list(paths.tags(name), start_after=start, limit=n + 1)
        except PathNotFound:
            return [], False
        tags = [paths.basename(p) for p in found]
        return tags[:n], len(tags) > n
