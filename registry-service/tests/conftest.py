"""Fixtures: storage drivers, settings, the app and a tiny OCI client over the test client.

Service tests run on the filesystem driver in ``tmp_path`` (``fs_driver``); ``any_driver``
parametrises a subset over inmemory, filesystem and s3 (moto, via wharf_testing's
``s3_bucket``). Nothing here touches ``os.environ``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from flask.testing import FlaskClient
from wharf_protocol import mediatypes
from wharf_protocol.digests import digest_bytes
from wharf_protocol.events import Event
from wharf_registry.app import create_app
from wharf_registry.settings import Settings
from wharf_registry.storage import FilesystemDriver, InMemoryDriver, PathNotFound, create_driver


class ClosingClient(FlaskClient):
    """A test client that buffers and closes every response (streamed files get closed)."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        response.get_data()
        response.close()
        return response


class RecordingSink:
    """An EventSink keeping every event, for assertions."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def write(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def actions(self) -> list[tuple[str, str, str]]:
        return [
            (e.action, e.target.repository, e.target.tag or e.target.digest) for e in self.events
        ]


class OCI:
    """Push/pull helpers over a Flask test client; each asserts the success status."""

    def __init__(self, client) -> None:
        self.client = client

    @staticmethod
    def codes(response) -> list[str]:
        """Return the codes of an error envelope."""
        return [e["code"] for e in response.get_json()["errors"]]

    def stored_blobs(self) -> list[str]:
        """Return every blob data path in storage (to prove nothing partial is visible)."""
        driver = self.client.application.extensions["registry"].content.driver
        try:
            return [f.path for f in driver.walk("/docker/registry/v2/blobs")]
        except PathNotFound:
            return []

    def uploads(self, name: str) -> list[str]:
        """Return the upload session directories left in ``name``."""
        driver = self.client.application.extensions["registry"].content.driver
        try:
            return driver.list(f"/docker/registry/v2/repositories/{name}/_uploads")
        except PathNotFound:
            return []

    def push_blob(self, name: str, data: bytes) -> str:
        digest = str(digest_bytes(data))
        r = self.client.post(f"/v2/{name}/blobs/uploads/?digest={digest}", data=data)
        assert r.status_code == 201, r.get_data(as_text=True)
        return digest

    def start(self, name: str) -> str:
        r = self.client.post(f"/v2/{name}/blobs/uploads/")
        assert r.status_code == 202, r.get_data(as_text=True)
        return r.headers["Location"]

    def image(
        self,
        name: str,
        layers: Sequence[bytes] = (b"layer-1",),
        config: bytes = b'{"architecture":"amd64","os":"linux"}',
        media_type: str = mediatypes.OCI_MANIFEST,
        **extra,
    ) -> bytes:
        """Push config and layers; return the manifest body (not pushed)."""
        layer_type = (
            mediatypes.DOCKER_LAYER
            if media_type == mediatypes.DOCKER_MANIFEST
            else mediatypes.OCI_LAYER_GZIP
        )
        config_type = (
            mediatypes.DOCKER_CONFIG
            if media_type == mediatypes.DOCKER_MANIFEST
            else extra.pop("config_type", mediatypes.OCI_CONFIG)
        )
        doc = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": config_type,
                "digest": self.push_blob(name, config),
                "size": len(config),
            },
            "layers": [
                {"mediaType": layer_type, "digest": self.push_blob(name, layer), "size": len(layer)}
                for layer in layers
            ],
            **extra,
        }
        return json.dumps(doc).encode()

    def put_manifest(
        self, name: str, ref: str, body: bytes, media_type: str | None = None, status: int = 201
    ):
        media_type = media_type or json.loads(body).get("mediaType", mediatypes.OCI_MANIFEST)
        r = self.client.put(
            f"/v2/{name}/manifests/{ref}", data=body, headers={"Content-Type": media_type}
        )
        assert r.status_code == status, r.get_data(as_text=True)
        return r

    def push_image(self, name: str, tag: str, **kw) -> tuple[str, bytes]:
        body = self.image(name, **kw)
        r = self.put_manifest(name, tag, body)
        return r.headers["Docker-Content-Digest"], body


@pytest.fixture
def fs_driver(tmp_path) -> FilesystemDriver:
    return FilesystemDriver(str(tmp_path / "storage"))


@pytest.fixture(params=["inmemory", "filesystem", "s3"])
def any_driver(request, tmp_path):
    if request.param == "inmemory":
        return InMemoryDriver()
    if request.param == "filesystem":
        return FilesystemDriver(str(tmp_path / "storage"))
    bucket = request.getfixturevalue("s3_bucket")
    server = request.getfixturevalue("s3_server")
    return create_driver(
        "s3", {"bucket": bucket, "endpoint_url": server.endpoint_url, "region": server.region}
    )


@pytest.fixture
def settings() -> Settings:
    return Settings(storage_driver="filesystem", manifest_max_size=64 * 1024)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def driver(fs_driver):
    return fs_driver


@pytest.fixture
def make_client():
    """Build a closing test client for ``create_app(settings, driver=..., sink=...)``."""

    def make(settings, **kwargs):
        app = create_app(settings, **kwargs)
        app.test_client_class = ClosingClient
        return app.test_client()

    return make


@pytest.fixture
def app(settings, driver, sink):
    app = create_app(settings, driver=driver, sink=sink)
    app.test_client_class = ClosingClient
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def oci(client) -> OCI:
    return OCI(client)
