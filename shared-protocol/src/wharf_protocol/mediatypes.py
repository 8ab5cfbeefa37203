"""Media types of manifests, indexes, configs and layers (OCI image spec, "Media Types";
Docker "Image Manifest V 2, Schema 2").

The Registry accepts manifests of :data:`MANIFEST_TYPES` and :data:`INDEX_TYPES`
(distribution spec, "Pushing manifests": the ``Content-Type`` is the manifest's media type).
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "DOCKER_CONFIG",
    "DOCKER_FOREIGN_LAYER",
    "DOCKER_LAYER",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "DOCKER_MANIFEST_V1",
    "DOCKER_MANIFEST_V1_SIGNED",
    "EMPTY_DESCRIPTOR",
    "EMPTY_JSON",
    "EMPTY_JSON_DIGEST",
    "INDEX_TYPES",
    "MANIFEST_TYPES",
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_LAYER_GZIP",
    "OCI_LAYER_NONDISTRIBUTABLE",
    "OCI_LAYER_NONDISTRIBUTABLE_GZIP",
    "OCI_LAYER_NONDISTRIBUTABLE_ZSTD",
    "OCI_LAYER_ZSTD",
    "OCI_MANIFEST",
    "is_index",
    "is_manifest",
]

# OCI image spec v1.1, "Media Types".
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDISTRIBUTABLE = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDISTRIBUTABLE_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

# OCI image spec v1.1, "Guidance for an Empty Descriptor": the two-byte JSON ``{}``.
EMPTY_JSON = "application/vnd.oci.empty.v1+json"
EMPTY_JSON_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
EMPTY_DESCRIPTOR = MappingProxyType(
    {"mediaType": EMPTY_JSON, "digest": EMPTY_JSON_DIGEST, "size": 2, "data": "e30="}
)

# Docker "Image Manifest V 2, Schema 2".
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
# Docker schema 1 (deprecated; recognised so it can be refused with a clear error).
DOCKER_MANIFEST_V1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_MANIFEST_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

#: Single-image manifests the Registry stores.
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
#: Manifests that list other manifests (multi-platform images).
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})


def _base(media_type: str) -> str:
    return media_type.split(";", 1)[0].strip().lower()


def is_manifest(media_type: str) -> bool:
    """Tell whether ``media_type`` (parameters ignored) is in :data:`MANIFEST_TYPES`."""
    return _base(media_type) in MANIFEST_TYPES


def is_index(media_type: str) -> bool:
    """Tell whether ``media_type`` (parameters ignored) is in :data:`INDEX_TYPES`."""
    return _base(media_type) in INDEX_TYPES
