"""Manifest parsing and schema checks (end-7): pure functions, no storage.

Accepted: Docker schema 2 manifest and manifest list, OCI image manifest and index, OCI
artifacts (``artifactType``, ``subject``). Checks: the body is a JSON object with
``schemaVersion`` 2; its ``mediaType`` (when present) equals the request's ``Content-Type``
(when given); the type is one of ``MANIFEST_TYPES``/``INDEX_TYPES`` (OCI bodies without a
``mediaType`` are typed by ``Content-Type``, else by shape); descriptors are objects with a
valid ``digest``, an integer ``size`` in [0, 2^63) (the image spec's int64) and a string
``mediaType``. Existence of what the manifest references, and that each declared size is the
size of the content where the repository holds it, is checked by ``manifests.py``.

Every manifest body is parsed with :func:`wharf_protocol.jsondepth.loads`: one nested more
than ``MAX_DEPTH`` (64) arrays and objects deep is ``MANIFEST_INVALID`` before any parsing,
never a ``RecursionError`` (a real manifest nests 5 or 6 deep). That holds for the bodies read
back from storage too, which a registry sharing the storage may have written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wharf_protocol import jsondepth, mediatypes
from wharf_protocol.descriptors import is_size
from wharf_protocol.digests import Digest, DigestInvalid
from wharf_protocol.events import Descriptor, Platform

from .errors import ManifestInvalid

#: Layer types that may live outside the registry (``urls``): their blobs are not required.
FOREIGN_LAYERS = frozenset(
    {
        mediatypes.DOCKER_FOREIGN_LAYER,
        mediatypes.OCI_LAYER_NONDISTRIBUTABLE,
        mediatypes.OCI_LAYER_NONDISTRIBUTABLE_GZIP,
        mediatypes.OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
    }
)


@dataclass(frozen=True)
class Ref:
    """A descriptor as the registry checks it: a digest and the size declared for it."""

    digest: Digest
    size: int

    def __str__(self) -> str:
        return str(self.digest)


@dataclass(frozen=True)
class ParsedManifest:
    """What the registry needs to know about a pushed manifest."""

    media_type: str
    blobs: tuple[Ref, ...] = ()  # config + layers that must be linked in the repository
    children: tuple[Ref, ...] = ()  # manifests an index names
    subject: Digest | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    #: descriptors the repository need not hold (foreign layers, the subject): their sizes
    #: are checked only where it does
    optional: tuple[Ref, ...] = ()

    @property
    def is_index(self) -> bool:
        return self.media_type in mediatypes.INDEX_TYPES


def base_type(content_type: str | None) -> str | None:
    """Return the media type of a Content-Type header without parameters, or None."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def parse_manifest(body: bytes, content_type: str | None) -> ParsedManifest:
    """Parse and check a manifest body; raise ManifestInvalid with a precise message."""
    doc = _json_object(body)
    if doc.get("schemaVersion") != 2:
        raise ManifestInvalid("schemaVersion must be 2")
    media_type = _media_type(doc, base_type(content_type))
    subject = _descriptor(doc["subject"], "subject") if "subject" in doc else None
    optional = [subject] if subject is not None else []
    artifact_type = _optional_str(doc, "artifactType")
    annotations = _annotations(doc)
    blobs: list[Ref] = []
    children: tuple[Ref, ...] = ()
    if media_type in mediatypes.INDEX_TYPES:
        entries = _list(doc, "manifests")
        children = tuple(_descriptor(e, f"manifests[{i}]") for i, e in enumerate(entries))
    else:
        if not isinstance(doc.get("config"), dict):
            raise ManifestInvalid("manifest has no config descriptor")
        blobs.append(_descriptor(doc["config"], "config"))
        for i, layer in enumerate(_list(doc, "layers")):
            ref = _descriptor(layer, f"layers[{i}]")
            foreign = layer.get("urls") and layer.get("mediaType") in FOREIGN_LAYERS
            (optional if foreign else blobs).append(ref)
        if artifact_type is None:
            artifact_type = doc["config"]["mediaType"]
    return ParsedManifest(
        media_type,
        tuple(blobs),
        children,
        subject.digest if subject is not None else None,
        artifact_type,
        annotations,
        tuple(optional),
    )


def references_of(body: bytes) -> tuple[Descriptor, ...]:
    """Return what a validated manifest references: config then layers, or an index's manifests.

    These go into the push event's ``target.references`` so the Index can record digests,
    sizes and an index's platforms (each manifest's ``platform``, as the reference registry
    sends it) without fetching the manifest.
    """
    doc = jsondepth.loads(body)
    if "manifests" in doc:
        entries = doc["manifests"]
    else:
        entries = [doc.get("config"), *doc.get("layers", [])]
    return tuple(
        Descriptor(e["mediaType"], e["digest"], e["size"], _platform(e.get("platform")))
        for e in entries
        if isinstance(e, dict)
    )


def _platform(value: Any) -> Platform | None:
    """An index entry's platform (its string fields), None without one."""
    if not isinstance(value, dict):
        return None
    found = {k: value.get(k) for k in ("os", "architecture", "variant")}
    return Platform(**{k: v for k, v in found.items() if isinstance(v, str)})


def media_type_of(body: bytes) -> str:
    """Return the media type of a stored (already validated) manifest body."""
    doc = jsondepth.loads(body)
    if isinstance(doc.get("mediaType"), str):
        return doc["mediaType"]
    return mediatypes.OCI_INDEX if "manifests" in doc else mediatypes.OCI_MANIFEST


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        doc = jsondepth.loads(body)
    except ValueError as exc:  # JsonTooDeep and UnicodeDecodeError too
        raise ManifestInvalid(f"manifest is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ManifestInvalid("manifest is not a JSON object")
    return doc


def _media_type(doc: dict[str, Any], content_type: str | None) -> str:
    declared = _optional_str(doc, "mediaType")
    if declared and content_type and declared != content_type:
        raise ManifestInvalid(
            f"Content-Type {content_type} contradicts the manifest mediaType {declared}"
        )
    media_type = declared or content_type
    if media_type is None:
        media_type = mediatypes.OCI_INDEX if "manifests" in doc else mediatypes.OCI_MANIFEST
    if media_type not in mediatypes.MANIFEST_TYPES | mediatypes.INDEX_TYPES:
        raise ManifestInvalid(f"unsupported manifest media type: {media_type}")
    if media_type in mediatypes.INDEX_TYPES and "config" in doc:
        raise ManifestInvalid(f"{media_type} must not have a config")
    if media_type in mediatypes.MANIFEST_TYPES and "manifests" in doc:
        raise ManifestInvalid(f"{media_type} must not have manifests")
    return media_type


def _descriptor(value: Any, where: str) -> Ref:
    if not isinstance(value, dict):
        raise ManifestInvalid(f"{where}: descriptor is not an object")
    if not isinstance(value.get("mediaType"), str):
        raise ManifestInvalid(f"{where}: descriptor has no mediaType")
    size = value.get("size")
    if not is_size(size):
        raise ManifestInvalid(f"{where}: descriptor size must be an integer in [0, 2^63)")
    try:
        return Ref(Digest.parse(value.get("digest")), size)
    except DigestInvalid as exc:
        raise ManifestInvalid(f"{where}: {exc}") from None


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    if not isinstance(value, list):
        raise ManifestInvalid(f"manifest has no {key} list")
    return value


def _optional_str(doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise ManifestInvalid(f"{key} must be a string")
    return value


def _annotations(doc: dict[str, Any]) -> dict[str, str]:
    value = doc.get("annotations") or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ManifestInvalid("annotations must be an object of strings")
    return value
