"""The platforms a manifest runs on, as the tags list shows them ("linux/amd64, linux/arm64/v8").

An image index names each of its manifests' platform (OCI image-spec image-index.md,
``platform``: ``os``, ``architecture``, ``variant``); a single image's config names its own
(config.md: ``os``, ``architecture``, ``variant``). Entries without a platform, or whose
``os`` is ``unknown`` (the attestation manifests ``docker buildx`` adds to an index), run on
nothing and are left out; so are values longer than :data:`MAX_FIELD` characters (no real
platform has such names). Recorded as ``[{"os", "architecture", "variant"}]`` in
``manifests.platforms`` (migration 0028, whose backfill applies the same rule in SQL).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MAX_FIELD = 64


@dataclass(frozen=True)
class ImagePlatform:
    os: str
    architecture: str
    variant: str = ""

    @property
    def label(self) -> str:
        """``linux/arm64/v8``."""
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def to_json(self) -> dict:
        return {"os": self.os, "architecture": self.architecture, "variant": self.variant}


def _field(value: Any) -> str | None:
    return value if isinstance(value, str) and len(value) <= MAX_FIELD else None


def platform_of(value: Any) -> ImagePlatform | None:
    """The platform a JSON object (an index entry's ``platform``, an image config) names,
    or None when it names none to show (module doc)."""
    if not isinstance(value, dict):
        return None
    os, architecture = _field(value.get("os")), _field(value.get("architecture"))
    if not os or os == "unknown" or architecture is None:
        return None
    return ImagePlatform(os, architecture, _field(value.get("variant")) or "")


def shown(platforms: Iterable[ImagePlatform | None]) -> tuple[ImagePlatform, ...]:
    """The platforms to show, in order, each once."""
    return tuple(dict.fromkeys(p for p in platforms if p is not None))


def of_index(document: dict) -> tuple[ImagePlatform, ...]:
    """The platforms of an image index's (or manifest list's) JSON."""
    entries = document.get("manifests")
    if not isinstance(entries, list):
        return ()
    return shown(platform_of(e.get("platform")) for e in entries if isinstance(e, dict))


def of_config(document: dict) -> tuple[ImagePlatform, ...]:
    """The platform of an image config's JSON (none when it names none)."""
    return shown([platform_of(document)])


def from_record(value: Any) -> tuple[ImagePlatform, ...] | None:
    """What ``manifests.platforms`` holds (None: not known)."""
    if not isinstance(value, list):
        return None
    return shown(map(platform_of, value))


def to_record(platforms: Iterable[ImagePlatform]) -> list[dict]:
    return [p.to_json() for p in platforms]
