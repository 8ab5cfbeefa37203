"""Manifests (end-3, end-7, end-9): validated, stored as blobs, linked as revisions.

Push order, chosen so that a crash leaves nothing half-visible: validate; check that every
referenced blob is linked in *this* repository and every manifest an index names is a
revision of it, and that every descriptor's size is the size of the content wherever this
repository holds it (config, layers, index children; foreign layers and the subject when
present; never content only other repositories hold, which would reveal it); touch what is
not recently written and wait out a garbage collection deciding about it (``liveness.py``);
check again that every child revision is still linked (a collection may delete untagged
ones); write the body to ``blobs/`` (invisible until linked); link the revision; record the
referrer; point the tag, all within the push deadline. Reads go through the revision link,
so a manifest is visible only once it is linked.

Immutable tags (the caller's token's policy for the repository, wharf_protocol.policy
``RepositoryPolicy``; none without a token): a push by tag that would point an existing tag
matching an immutable pattern at another digest, and a delete of such a tag or of a
manifest such a tag points at, raise TagImmutable before anything is written or removed.
Pushing the digest the tag already points at again is allowed (nothing moves), and so is
a tag's first push. The check and the write are not one atomic step: two first pushes of
one immutable tag at the same moment may both succeed, the later one winning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from wharf_protocol.digests import Digest, digest_bytes
from wharf_protocol.events import Descriptor
from wharf_protocol.names import Reference
from wharf_protocol.policy import RepositoryPolicy, tag_matches

from ..storage.base import FileInfo, PathNotFound, StorageDriver
from . import paths
from .blobs import BlobStore
from .errors import (
    BlobUnknown,
    CollectorBusy,
    DescriptorSizeMismatch,
    DigestMismatch,
    ManifestBlobUnknown,
    ManifestTooLarge,
    ManifestUnknown,
    TagImmutable,
)
from .liveness import Deadline, Liveness
from .referrers import ReferrersIndex
from .tags import TagStore
from .validation import ParsedManifest, Ref, media_type_of, parse_manifest, references_of

logger = logging.getLogger(__name__)
NO_RULES = RepositoryPolicy()  # no token, or none for this repository: nothing immutable


@dataclass(frozen=True)
class Manifest:
    """A stored manifest as served: its digest, media type and exact bytes."""

    digest: Digest
    media_type: str
    body: bytes


@dataclass(frozen=True)
class PushResult:
    """What a manifest push stored: digest, media type, size, subject, referenced descriptors."""

    digest: Digest
    media_type: str
    size: int
    subject: Digest | None
    references: tuple[Descriptor, ...] = ()


class ManifestStore:
    """Put, get and delete manifests of a repository."""

    def __init__(
        self,
        driver: StorageDriver,
        blobs: BlobStore,
        tags: TagStore,
        referrers: ReferrersIndex,
        max_size: int,
        liveness: Liveness | None = None,
    ) -> None:
        self.driver = driver
        self.blobs = blobs
        self.tags = tags
        self.referrers = referrers
        self.max_size = max_size
        self.liveness = liveness or Liveness(driver)

    def put(
        self,
        name: str,
        ref: Reference,
        body: bytes,
        content_type: str | None,
        rules: RepositoryPolicy = NO_RULES,
        admit: Callable[[int], None] | None = None,
    ) -> PushResult:
        """Validate and store ``body`` under ``ref`` (end-7).

        Raises ManifestTooLarge, ManifestInvalid, DigestMismatch (pushed by digest),
        ManifestBlobUnknown (listing every missing blob or child manifest),
        DescriptorSizeMismatch (listing every descriptor whose size is not the content's),
        TagImmutable (``ref`` is a tag ``rules`` make immutable, pointing elsewhere).
        Once it is valid and before anything is written, ``admit(new bytes)`` may refuse it
        by raising: the body's size, 0 when ``name`` holds this manifest already.
        """
        if len(body) > self.max_size:
            raise ManifestTooLarge(self.max_size)
        manifest = parse_manifest(body, content_type)
        digest = digest_bytes(body, ref.digest.algorithm if ref.digest else "sha256")
        if ref.digest is not None and ref.digest != digest:
            raise DigestMismatch(ref.digest, digest)
        if ref.tag is not None:
            self._check_movable(name, ref.tag, digest, rules)
        deadline = self.liveness.start()
        stored = self._check_references(name, manifest)
        self._protect(stored, deadline)
        self._recheck_children(name, manifest)
        if admit is not None:
            admit(0 if self.exists(name, digest) else len(body))
        deadline.check()
        self._write_body(digest, body)
        deadline.check()
        self.driver.put_content(paths.revision_link(name, digest), str(digest).encode())
        self.referrers.add(name, digest, len(body), manifest)
        if ref.tag is not None:
            deadline.check()  # a tag set late could point at a revision a collection deleted
            self.tags.set(name, ref.tag, digest)
        logger.info("manifest %s pushed to %s as %s", digest, name, ref)
        return PushResult(
            digest, manifest.media_type, len(body), manifest.subject, references_of(body)
        )

    def cache(
        self, name: str, digest: Digest, body: bytes, content_type: str | None, tag: str | None
    ) -> Manifest:
        """Store a manifest fetched from a mirrored upstream (proxy/mirror.py), by ``digest``
        (verified by the caller) and, with ``tag``, point the tag at it.

        Validated like a push, but its blobs are not required: the mirror fetches them when
        they are asked for. Same order as :meth:`put`: body, revision link, referrer, tag.
        """
        if len(body) > self.max_size:
            raise ManifestTooLarge(self.max_size)
        manifest = parse_manifest(body, content_type)
        deadline = self.liveness.start()
        self._write_body(digest, body)
        deadline.check()
        self.driver.put_content(paths.revision_link(name, digest), str(digest).encode())
        self.referrers.add(name, digest, len(body), manifest)
        if tag is not None:
            self.tags.set(name, tag, digest)
        logger.info("manifest %s of %s cached%s", digest, name, f" as {tag}" if tag else "")
        return Manifest(digest, media_type_of(body), body)

    def get(self, name: str, ref: Reference) -> Manifest:
        """Return the manifest ``ref`` names in ``name``; ManifestUnknown if none (end-3)."""
        digest = ref.digest if ref.digest is not None else self.tags.resolve(name, ref.tag)
        if not self.exists(name, digest):
            raise ManifestUnknown(ref)
        try:
            body = self.driver.get_content(paths.blob_data(digest))
        except PathNotFound:
            raise ManifestUnknown(ref) from None
        return Manifest(digest, media_type_of(body), body)

    def exists(self, name: str, digest: Digest) -> bool:
        """Tell whether ``digest`` is a manifest revision of ``name``."""
        try:
            self.driver.stat(paths.revision_link(name, digest))
        except PathNotFound:
            return False
        return True

    def delete(
        self, name: str, ref: Reference, rules: RepositoryPolicy = NO_RULES
    ) -> tuple[Digest, list[str]]:
        """Delete a tag, or a manifest with every tag pointing at it (end-9).

        Returns the manifest digest and the tags removed. ManifestUnknown if absent;
        TagImmutable if the tag, or one pointing at the manifest, is immutable by ``rules``.
        """
        if ref.tag is not None:
            self.tags.resolve(name, ref.tag)  # ManifestUnknown first: no tag, no refusal
            _refuse_immutable(name, [ref.tag], rules)
            return self.tags.delete(name, ref.tag), [ref.tag]
        manifest = self.get(name, ref)
        removed = self.tags.tags_of(name, manifest.digest)
        _refuse_immutable(name, removed, rules)
        for tag in removed:
            self.tags.delete(name, tag)
        if not self.unlink(name, manifest.digest, _subject_of(manifest.body)):
            raise ManifestUnknown(ref)
        return manifest.digest, removed

    def unlink(self, name: str, digest: Digest, subject: Digest | None) -> bool:
        """Remove revision ``digest`` of ``name`` (its referrer entry under ``subject``, then
        its link), leaving tags alone; False if it was not there. The manifest delete
        (end-9) and the collector's deletion of untagged revisions both end here."""
        if subject is not None:
            self.referrers.remove(name, subject, digest)
        try:
            self.driver.delete(paths.revision_dir(name, digest))
        except PathNotFound:
            return False
        return True

    def _check_movable(self, name: str, tag: str, digest: Digest, rules: RepositoryPolicy) -> None:
        """TagImmutable if ``tag`` is immutable and exists pointing at another digest."""
        if not rules.is_immutable(tag):
            return
        try:
            current = self.tags.resolve(name, tag)
        except ManifestUnknown:
            return  # a first push
        if current != digest:
            _refuse_immutable(name, [tag], rules)

    def _check_references(self, name: str, manifest: ParsedManifest) -> dict[Digest, FileInfo]:
        """Check presence and sizes; return the stored data of what the manifest relies on."""
        held = [r for r in manifest.blobs if self.blobs.is_linked(name, r.digest)]
        held += [r for r in manifest.children if self.exists(name, r.digest)]
        infos = {r: self._stored(r) for r in held}
        required = (*manifest.blobs, *manifest.children)
        missing = [str(r) for r in required if r not in infos or infos[r] is None]
        if missing:
            raise ManifestBlobUnknown(missing)
        for ref in manifest.optional:
            if self.blobs.is_linked(name, ref.digest) or self.exists(name, ref.digest):
                infos[ref] = self._stored(ref)
        wrong = [
            (str(r), r.size, info.size)
            for r, info in infos.items()
            if info is not None and info.size != r.size
        ]
        if wrong:
            raise DescriptorSizeMismatch(wrong)
        return {r.digest: info for r, info in infos.items() if info is not None}

    def _protect(self, stored: dict[Digest, FileInfo], deadline: Deadline) -> None:
        """Touch what is not recently written, then wait out sweeps (content/liveness.py)."""
        stale = [d for d, info in stored.items() if self.liveness.is_stale(info.modified)]
        for digest in stale:
            self.liveness.touch(digest)
        gone = self.liveness.settle(stale)
        if gone:
            raise ManifestBlobUnknown([str(d) for d in gone])
        deadline.check()

    def _recheck_children(self, name: str, manifest: ParsedManifest) -> None:
        """ManifestBlobUnknown if a child revision went away since it was checked.

        A collection deleting untagged revisions removes a child's link while its condemned
        marker exists; ``_protect`` touched the child (or found it fresh) and waited such a
        marker out, so reading the links again now sees any deletion that could race this
        push (docs/garbage-collection.md, "Deleting untagged manifests").
        """
        gone = [str(r) for r in manifest.children if not self.exists(name, r.digest)]
        if gone:
            raise ManifestBlobUnknown(gone)

    def _write_body(self, digest: Digest, body: bytes) -> None:
        """Store the manifest's bytes; rewrite them if a sweep deleted them meanwhile.

        The write gives the data a fresh mtime; a sweep that condemned the digest before
        may still delete it, so wait it out and write again (at most a few times).
        """
        for _ in range(3):
            self.driver.put_content(paths.blob_data(digest), body)
            if not self.liveness.settle([digest]):
                return
        raise CollectorBusy(f"garbage collection keeps deleting {digest}; retry the push")

    def _stored(self, ref: Ref) -> FileInfo | None:
        try:
            return self.blobs.info(ref.digest)
        except BlobUnknown:
            return None


def _refuse_immutable(name: str, tags: list[str], rules: RepositoryPolicy) -> None:
    """TagImmutable naming the first of ``tags`` an immutable pattern of ``rules`` matches."""
    for tag in tags:
        for pattern in rules.immutable:
            if tag_matches((pattern,), tag):
                raise TagImmutable(name, tag, pattern)


def _subject_of(body: bytes) -> Digest | None:
    try:
        return parse_manifest(body, None).subject
    except Exception:  # noqa: BLE001 - a stored manifest that no longer parses has no subject
        return None
