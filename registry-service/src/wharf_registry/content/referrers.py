"""Referrers (end-12a/b): manifests whose ``subject`` is a given digest.

Wharf keeps an index per subject (``_referrers/<subject alg>/<subject hex>/<alg>/<hex>/
descriptor``, see ``paths.py``) written when a manifest with a subject is pushed and removed
when it is deleted. Each entry holds the descriptor the referrers response lists: the spec
says ``artifactType`` is the manifest's own, or its config's ``mediaType`` when absent.
"""

from __future__ import annotations

import json
from typing import Any

from wharf_protocol.digests import Digest

from ..storage.base import PathNotFound, StorageDriver
from . import paths
from .validation import ParsedManifest


class ReferrersIndex:
    """Add, remove and list the referrers of a subject in one repository."""

    def __init__(self, driver: StorageDriver) -> None:
        self.driver = driver

    def add(self, name: str, digest: Digest, size: int, manifest: ParsedManifest) -> None:
        """Record ``digest`` as a referrer of ``manifest.subject``."""
        if manifest.subject is None:
            return
        descriptor: dict[str, Any] = {
            "mediaType": manifest.media_type,
            "digest": str(digest),
            "size": size,
        }
        if manifest.artifact_type:
            descriptor["artifactType"] = manifest.artifact_type
        if manifest.annotations:
            descriptor["annotations"] = manifest.annotations
        path = paths.referrer_descriptor(name, manifest.subject, digest)
        self.driver.put_content(path, json.dumps(descriptor, sort_keys=True).encode())

    def remove(self, name: str, subject: Digest, digest: Digest) -> None:
        """Forget referrer ``digest`` of ``subject`` (no error when absent)."""
        path = paths.referrer_descriptor(name, subject, digest).rsplit("/", 1)[0]
        try:
            self.driver.delete(path)
        except PathNotFound:
            pass

    def list(self, name: str, subject: Digest, artifact_type: str | None = None) -> list[dict]:
        """Return the descriptors of the referrers of ``subject``, optionally filtered."""
        found = []
        for alg_dir in self._children(paths.referrers_dir(name, subject)):
            for entry in self._children(alg_dir):
                try:
                    descriptor = json.loads(self.driver.get_content(f"{entry}/descriptor"))
                except PathNotFound:
                    continue
                if artifact_type is None or descriptor.get("artifactType") == artifact_type:
                    found.append(descriptor)
        return found

    def _children(self, path: str) -> list[str]:
        try:
            return self.driver.list(path)
        except PathNotFound:
            return []
