"""Build OCI image layout directories in Python, for real clients (skopeo) to push.

There is no Docker engine on the test machines, so the tests make their images here:
random layers as gzip tarballs, an image config whose ``rootfs.diff_ids`` match them, an OCI
image manifest, and for multi-arch images an OCI image index. Output follows the OCI
image-layout spec (``oci-layout``, ``index.json``, ``blobs/<alg>/<hex>``); the tag is the
``org.opencontainers.image.ref.name`` annotation, which is what ``skopeo copy oci:DIR:TAG``
looks up.

Everything is deterministic for a given ``seed`` (gzip mtime 0, tar mtime fixed), so two
builds of the same image have the same digests.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

OCI_LAYOUT = {"imageLayoutVersion": "1.0.0"}
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"


@dataclass(frozen=True)
class Blob:
    """Bytes with their media type; ``digest`` is ``sha256:<hex>``."""

    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    def descriptor(self, **extra: object) -> dict:
        size = len(self.data)
        return {"mediaType": self.media_type, "digest": self.digest, "size": size, **extra}


@dataclass
class Image:
    """One platform image: its layers, config and manifest (all :class:`Blob`)."""

    layers: list[Blob]
    config: Blob
    manifest: Blob
    platform: dict = field(default_factory=dict)

    def blobs(self) -> list[Blob]:
        return [*self.layers, self.config, self.manifest]


@dataclass
class MultiArch:
    """An OCI image index over several :class:`Image`, which may share layers."""

    images: list[Image]
    index: Blob

    def blobs(self) -> list[Blob]:
        return [blob for image in self.images for blob in image.blobs()] + [self.index]


def canonical_json(value: object) -> bytes:
    """Serialise ``value`` the way the tests push it (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def make_layer(rng: random.Random, size: int, name: str = "file.bin") -> tuple[Blob, str]:
    """Return (a gzip tar layer holding ``size`` random bytes as ``name``, its diff_id)."""
    payload = rng.randbytes(size)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mtime = 1_700_000_000
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(payload))
    tar_bytes = raw.getvalue()
    compressed = gzip.compress(tar_bytes, compresslevel=1, mtime=0)
    return Blob(LAYER_GZIP, compressed), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def make_image(
    layers: list[tuple[Blob, str]], *, os_name: str = "linux", arch: str = "amd64"
) -> Image:
    """Assemble a config and an OCI manifest over ``layers`` (pairs of blob and diff_id)."""
    config = {
        "architecture": arch,
        "os": os_name,
        "config": {"Cmd": ["/bin/true"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id in layers]},
        "history": [{"created_by": f"wharf test layer {i}"} for i in range(len(layers))],
    }
    config_blob = Blob(CONFIG, canonical_json(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": config_blob.descriptor(),
        "layers": [blob.descriptor() for blob, _ in layers],
    }
    return Image(
        layers=[blob for blob, _ in layers],
        config=config_blob,
        manifest=Blob(MANIFEST, canonical_json(manifest)),
        platform={"architecture": arch, "os": os_name},
    )


def multi_layer_image(seed: int = 1, count: int = 4, size: int = 64 * 1024) -> Image:
    """Return an amd64 image of ``count`` random layers of about ``size`` bytes each."""
    rng = random.Random(seed)
    return make_image([make_layer(rng, size + i * 1024, f"layer{i}.bin") for i in range(count)])


def multi_arch_index(seed: int = 2, size: int = 32 * 1024) -> MultiArch:
    """Return an index of an amd64 and an arm64 image sharing their first (base) layer."""
    rng = random.Random(seed)
    base = make_layer(rng, size, "base.bin")
    images = [
        make_image([base, make_layer(rng, size, f"{arch}.bin")], arch=arch)
        for arch in ("amd64", "arm64")
    ]
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [image.manifest.descriptor(platform=image.platform) for image in images],
    }
    return MultiArch(images=images, index=Blob(INDEX, canonical_json(index)))


def write_layout(directory: Path, top: Image | MultiArch, tag: str) -> Path:
    """Write ``top`` as an OCI image layout in ``directory`` tagged ``tag``; return it."""
    blobs_dir = directory / "blobs" / "sha256"
    blobs_dir.mkdir(parents=True, exist_ok=True)
    (directory / "oci-layout").write_bytes(canonical_json(OCI_LAYOUT))
    for blob in top.blobs():
        (blobs_dir / blob.digest.split(":", 1)[1]).write_bytes(blob.data)
    root = top.manifest if isinstance(top, Image) else top.index
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [root.descriptor(annotations={REF_NAME: tag})],
    }
    (directory / "index.json").write_bytes(canonical_json(index))
    return directory


def read_layout(directory: Path) -> dict[str, bytes]:
    """Return every blob of an OCI layout directory, keyed by digest, checking each hash."""
    blobs: dict[str, bytes] = {}
    for path in sorted((directory / "blobs" / "sha256").iterdir()):
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == path.name, f"corrupt blob {path.name}"
        blobs["sha256:" + path.name] = data
    return blobs


def layout_root(directory: Path, tag: str) -> dict:
    """Return the ``index.json`` descriptor tagged ``tag`` in an OCI layout directory."""
    index = json.loads((directory / "index.json").read_bytes())
    for descriptor in index["manifests"]:
        if descriptor.get("annotations", {}).get(REF_NAME) == tag:
            return descriptor
    raise KeyError(tag)
