"""A small OCI Distribution client over requests, for protocol details skopeo hides.

:class:`OciClient` does the Docker token dance (``401`` -> parse ``WWW-Authenticate`` with
:func:`wharf_protocol.scopes.parse_challenge` -> ``GET <realm>?service=&scope=`` with Basic
credentials or anonymously -> retry with ``Bearer``), or Basic auth against an htpasswd
registry. Operations return the final :class:`requests.Response`; the ``push_*`` helpers
assert success, the rest leave the status to the test. :class:`Image` builds small random
images (real gzipped tar layers, an OCI config and manifest) and writes OCI layouts for
skopeo.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from urllib.parse import urljoin

import requests
from wharf_protocol import mediatypes
from wharf_protocol.digests import digest_bytes
from wharf_protocol.scopes import parse_challenge

TIMEOUT = (3.05, 30)
ACCEPT = (
    mediatypes.OCI_MANIFEST,
    mediatypes.OCI_INDEX,
    mediatypes.DOCKER_MANIFEST,
    mediatypes.DOCKER_MANIFEST_LIST,
)
OCTETS = {"Content-Type": "application/octet-stream"}


class TokenDenied(AssertionError):
    """The token endpoint refused the credentials (its status and body in the message)."""


class OciClient:
    """A registry client for ``base_url`` (``http://host:port``).

    ``username``/``password``: Index credentials for the token endpoint (or htpasswd
    credentials for Basic auth); none means anonymous. ``token`` forces one bearer token
    (no dance: to show what a registry does with a given token).
    """

    def __init__(
        self,
        base_url: str,
        username: str | None = None,
        password: str | None = None,
        *,
        token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = (username, password) if username else None
        self.forced_token = token
        self.session = requests.Session()
        self.tokens: dict[tuple[str, str], str] = {}  # (service, scope) -> token
        self.last_token_response: requests.Response | None = None
        self.last_token: str | None = None

    # -- the token dance -------------------------------------------------------------------

    def fetch_token(self, realm: str, service: str, scope: str = "") -> str:
        """``GET realm?service=&scope=`` (Basic when we have credentials); the token."""
        params = {"service": service}
        if scope:
            params["scope"] = scope
        response = requests.get(realm, params=params, auth=self.auth, timeout=TIMEOUT)
        self.last_token_response = response
        if response.status_code != 200:
            raise TokenDenied(f"token endpoint {response.status_code}: {response.text[:500]}")
        body = response.json()
        return body.get("token") or body["access_token"]

    def authorize(self, *scopes: str) -> str:
        """Get a token for exactly ``scopes`` (realm and service from the ``/v2/`` challenge)
        and use it from now on; return it."""
        response = self.session.get(self.base_url + "/v2/", timeout=TIMEOUT)
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        token = self.fetch_token(
            challenge.params["realm"], challenge.params["service"], " ".join(scopes)
        )
        self.last_token = token
        return token

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        """Send a request; on ``401`` authenticate as the challenge says and retry once."""
        url = path if path.startswith("http") else self.base_url + path
        kwargs.setdefault("timeout", TIMEOUT)
        kwargs.setdefault("allow_redirects", False)
        headers = dict(kwargs.pop("headers", None) or {})
        token = self.forced_token or self.last_token
        if token:  # as clients do: reuse the last token until the registry asks for another
            headers["Authorization"] = f"Bearer {token}"
        response = self.session.request(method, url, headers=headers, **kwargs)
        if response.status_code != 401 or self.forced_token:
            return response
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if challenge.scheme == "basic":
            if self.auth is None:
                return response
            return self.session.request(method, url, headers=headers, auth=self.auth, **kwargs)
        key = (challenge.params.get("service", ""), challenge.params.get("scope", ""))
        token = self.fetch_token(challenge.params["realm"], *key)
        self.tokens[key] = self.last_token = token
        headers["Authorization"] = f"Bearer {token}"
        _rewind(kwargs.get("data"))
        return self.session.request(method, url, headers=headers, **kwargs)

    # -- reads -----------------------------------------------------------------------------

    def ping(self) -> requests.Response:
        return self.request("GET", "/v2/")

    def get_manifest(self, name: str, reference: str, method: str = "GET") -> requests.Response:
        accept = ", ".join(ACCEPT)
        return self.request(method, f"/v2/{name}/manifests/{reference}", headers={"Accept": accept})

    def get_blob(self, name: str, digest: str) -> requests.Response:
        return self.request("GET", f"/v2/{name}/blobs/{digest}")

    def list_tags(self, name: str) -> requests.Response:
        return self.request("GET", f"/v2/{name}/tags/list")

    def catalog(self) -> requests.Response:
        return self.request("GET", "/v2/_catalog")

    def catalog_names(self) -> list[str]:
        response = self.catalog()
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json().get("repositories") or []

    # -- writes ----------------------------------------------------------------------------

    def push_blob(self, name: str, data: bytes, *, chunk_size: int | None = None) -> str:
        """Upload ``data`` monolithically (``POST ?digest=``) or in ``chunk_size`` PATCHes."""
        digest = str(digest_bytes(data))
        if chunk_size is None:
            path = f"/v2/{name}/blobs/uploads/"
            response = self.request(
                "POST", path, params={"digest": digest}, data=data, headers=OCTETS
            )
            _expect(response, 201)
            return digest
        location = self.start_upload(name)
        for start in range(0, len(data), chunk_size):
            location = self.patch_chunk(location, data[start : start + chunk_size], start)
        response = self.request("PUT", location, params={"digest": digest})
        _expect(response, 201)
        return digest

    def start_upload(self, name: str) -> str:
        response = self.request("POST", f"/v2/{name}/blobs/uploads/")
        _expect(response, 202)
        return urljoin(self.base_url + "/", response.headers["Location"])

    def patch_chunk(self, location: str, chunk: bytes, start: int) -> str:
        headers = {**OCTETS, "Content-Range": f"{start}-{start + len(chunk) - 1}"}
        response = self.request("PATCH", location, data=chunk, headers=headers)
        _expect(response, 202)
        return urljoin(self.base_url + "/", response.headers["Location"])

    def push_manifest(
        self, name: str, reference: str, body: bytes, media_type: str = mediatypes.OCI_MANIFEST
    ) -> requests.Response:
        return self.request(
            "PUT",
            f"/v2/{name}/manifests/{reference}",
            data=body,
            headers={"Content-Type": media_type},
        )

    def push_image(
        self, name: str, tag: str, image: Image, *, chunk_size: int | None = None
    ) -> str:
        """Push config, layers and manifest; return the manifest digest."""
        for blob in image.blobs():
            self.push_blob(name, blob, chunk_size=chunk_size)
        _expect(self.push_manifest(name, tag, image.manifest), 201)
        return image.digest

    def delete_manifest(self, name: str, reference: str) -> requests.Response:
        return self.request("DELETE", f"/v2/{name}/manifests/{reference}")

    def delete_repository(self, name: str) -> requests.Response:
        """Wharf's repository deletion (scenario C step 3): ``DELETE /v2/_wharf/repositories/``."""
        return self.request("DELETE", f"/v2/_wharf/repositories/{name}")


def _rewind(data) -> None:
    if hasattr(data, "seek"):
        data.seek(0)


def _expect(response: requests.Response, status: int) -> None:
    assert response.status_code == status, (
        f"{response.request.method} {response.url}: {response.status_code} {response.text[:500]}"
    )


# -- images --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    """A small OCI image: ``config`` and ``layers`` (gzipped tars) as bytes, its ``manifest``."""

    config: bytes
    layers: tuple[bytes, ...]
    manifest: bytes

    @property
    def digest(self) -> str:
        return str(digest_bytes(self.manifest))

    @property
    def layer_digests(self) -> list[str]:
        return [str(digest_bytes(layer)) for layer in self.layers]

    @property
    def config_digest(self) -> str:
        return str(digest_bytes(self.config))

    def blobs(self) -> list[bytes]:
        return [self.config, *self.layers]

    @classmethod
    def random(
        cls, layers: int = 2, size: int = 4096, label: str = "wharf", arch: str = "amd64"
    ) -> Image:
        """An image of ``layers`` layers, each one file of ``size`` random bytes, for
        ``linux/arch``."""
        tars = [_tar({f"{label}/layer{i}.bin": os.urandom(size)}) for i in range(layers)]
        gz = [gzip.compress(t, mtime=0) for t in tars]
        config = json.dumps(
            {
                "architecture": arch,
                "os": "linux",
                "config": {"Labels": {"wharf.test": label}},
                "rootfs": {"type": "layers", "diff_ids": [str(digest_bytes(t)) for t in tars]},
            },
            sort_keys=True,
        ).encode()
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": mediatypes.OCI_MANIFEST,
                "config": _descriptor(mediatypes.OCI_CONFIG, config),
                "layers": [_descriptor(mediatypes.OCI_LAYER_GZIP, layer) for layer in gz],
            },
            sort_keys=True,
        ).encode()
        return cls(config, tuple(gz), manifest)

    def write_layout(self, directory: str, tag: str = "latest") -> str:
        """Write an OCI image layout holding this image as ``tag``; return ``oci:DIR:TAG``."""
        blobs = os.path.join(directory, "blobs", "sha256")
        os.makedirs(blobs, exist_ok=True)
        for blob in self.blobs():
            with open(os.path.join(blobs, digest_bytes(blob).hex), "wb") as fh:
                fh.write(blob)
        return _tag_layout(directory, mediatypes.OCI_MANIFEST, self.manifest, tag)


def write_index_layout(images: dict[str, Image], directory: str, tag: str = "latest") -> str:
    """Write an OCI image layout holding an image index of ``images`` (``"os/arch"`` ->
    image) as ``tag``; return ``oci:DIR:TAG`` (``skopeo copy --all`` pushes every platform)."""
    entries = []
    for platform, image in images.items():
        image.write_layout(directory, tag)  # its blobs; index.json is rewritten below
        system, architecture = platform.split("/", 1)
        entry = _descriptor(mediatypes.OCI_MANIFEST, image.manifest)
        entry["platform"] = {"os": system, "architecture": architecture}
        entries.append(entry)
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": entries},
        sort_keys=True,
    ).encode()
    return _tag_layout(directory, mediatypes.OCI_INDEX, index, tag)


def write_big_layout(directory: str, size: int, tag: str = "latest") -> tuple[str, str]:
    """Write an OCI image layout holding an image of one layer, a gzipped tar of one file of
    ``size`` random bytes, as ``tag``; return ``(oci:DIR:TAG, the layer's digest)``.

    The layer is streamed to its file and hashed on the way (the tar for the config's
    ``diff_ids``, the gzip for the digest): nothing near ``size`` is held in memory. The
    gzip stream stores the tar uncompressed (level 0): random bytes would not shrink, and
    deflating them costs seconds."""
    blobs = os.path.join(directory, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    partial = os.path.join(blobs, "layer.partial")
    with open(partial, "wb") as out:
        gz_hash = _HashingWriter(out)
        with gzip.GzipFile(fileobj=gz_hash, mode="wb", compresslevel=0, mtime=0) as gz:
            tar_hash = _HashingWriter(gz)
            with tarfile.open(fileobj=tar_hash, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                info = tarfile.TarInfo("big/layer.bin")
                info.size, info.mode, info.mtime = size, 0o644, 0
                tar.addfile(info, _RandomReader(size))
    layer = {
        "mediaType": mediatypes.OCI_LAYER_GZIP,
        "digest": f"sha256:{gz_hash.hash.hexdigest()}",
        "size": gz_hash.size,
    }
    os.replace(partial, os.path.join(blobs, gz_hash.hash.hexdigest()))
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{tar_hash.hash.hexdigest()}"]},
        },
        sort_keys=True,
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": _descriptor(mediatypes.OCI_CONFIG, config),
            "layers": [layer],
        },
        sort_keys=True,
    ).encode()
    with open(os.path.join(blobs, digest_bytes(config).hex), "wb") as fh:
        fh.write(config)
    return _tag_layout(directory, mediatypes.OCI_MANIFEST, manifest, tag), layer["digest"]


def _tag_layout(directory: str, media_type: str, manifest: bytes, tag: str) -> str:
    """Store ``manifest`` (an image manifest or index) in the layout at ``directory`` (whose
    other blobs are written) and make it the layout's only ``tag``; return ``oci:DIR:TAG``."""
    with open(os.path.join(directory, "blobs", "sha256", digest_bytes(manifest).hex), "wb") as fh:
        fh.write(manifest)
    with open(os.path.join(directory, "oci-layout"), "w", encoding="utf-8") as fh:
        json.dump({"imageLayoutVersion": "1.0.0"}, fh)
    entry = _descriptor(media_type, manifest)
    entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
    with open(os.path.join(directory, "index.json"), "w", encoding="utf-8") as fh:
        json.dump({"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": [entry]}, fh)
    return f"oci:{directory}:{tag}"


class _RandomReader(io.RawIOBase):
    """``size`` random bytes, read a piece at a time."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = os.urandom(n)
        self.left -= n
        return n


class _HashingWriter(io.RawIOBase):
    """Writes through to ``sink``, hashing (SHA-256) and counting what passes."""

    def __init__(self, sink) -> None:
        self.sink, self.hash, self.size = sink, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.hash.update(data)
        self.size += len(data)
        self.sink.write(data)
        return len(data)


def _descriptor(media_type: str, blob: bytes) -> dict:
    return {"mediaType": media_type, "digest": str(digest_bytes(blob)), "size": len(blob)}


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
