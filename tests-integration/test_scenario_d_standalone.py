"""Scenario D: a Registry without an Index (docs/architecture.md).

The registry runs with ``REGISTRY_AUTH=htpasswd`` (bcrypt entries made by ``htpasswd -B``)
and no ``REGISTRY_INDEX_URL``: skopeo logs in with the registry's own credentials, pushes,
pulls, lists and deletes; anonymous clients and wrong passwords are refused; nothing tries
to reach an Index (no event outbox is written). With ``REGISTRY_NOTIFICATIONS_ENDPOINTS`` the
same registry tells a CI system of pushes and deletes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

import pytest
from oci_client import Image, OciClient
from skopeo import Skopeo
from wharf_testing.receiver import Receiver
from wharf_testing.services import GunicornService

USER, PASSWORD = "operator", "operator-password-1"


@pytest.fixture(scope="module")
def standalone(network):
    """A registry on the registry host with htpasswd auth and filesystem storage."""
    workdir = tempfile.mkdtemp(prefix="wharf-it-standalone-")
    htpasswd = os.path.join(workdir, "htpasswd")
    made = subprocess.run(
        ["htpasswd", "-B", "-b", "-c", htpasswd, USER, PASSWORD],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    host = network["registry"]
    service = GunicornService(
        "wharf_registry.wsgi:app",
        {
            "REGISTRY_AUTH": "htpasswd",
            "REGISTRY_AUTH_HTPASSWD_PATH": htpasswd,
            "REGISTRY_STORAGE": "filesystem",
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": os.path.join(workdir, "storage"),
            "REGISTRY_LOG_FORMAT": "text",
        },
        "registry standalone",
        host=host.address,
        port=host.port(5100),
        prefix=host.prefix,
        extra_args=["--config", "python:wharf_registry.gunicorn_conf"],
    )
    service.start(timeout=60)
    yield service, workdir
    service.close()
    shutil.rmtree(workdir, ignore_errors=True)


def _skopeo(network, workdir: str, label: str) -> Skopeo:
    return Skopeo(network["client"], tempfile.mkdtemp(prefix=f"{label}-", dir=workdir))


def test_push_pull_list_delete_with_skopeo(network, standalone, tmp_path):
    service, workdir = standalone
    address = f"{service.host}:{service.port}"
    skopeo = _skopeo(network, workdir, "operator")
    skopeo.login(address, USER, PASSWORD)
    image = Image.random(layers=2, label="d-app")
    layout = image.write_layout(str(tmp_path / "src"), "1")
    skopeo.copy(layout, f"docker://{address}/team/app:1", check=True)
    skopeo.copy(f"docker://{address}/team/app:1", f"docker://{address}/team/app:2", check=True)

    info = json.loads(skopeo.inspect(f"{address}/team/app:1", check=True).stdout)
    assert info["Digest"] == image.digest
    assert info["Layers"] == image.layer_digests
    tags = json.loads(skopeo.list_tags(f"{address}/team/app", check=True).stdout)
    assert sorted(tags["Tags"]) == ["1", "2"]
    skopeo.copy(f"docker://{address}/team/app:2", f"oci:{tmp_path}/pulled:2", check=True)
    pulled = tmp_path / "pulled" / "blobs" / "sha256" / image.layer_digests[1].split(":")[1]
    assert pulled.read_bytes() == image.layers[1]

    # Deleting by tag through skopeo deletes the manifest (by digest): both tags go.
    skopeo.delete(f"{address}/team/app:1", check=True)
    assert skopeo.inspect(f"{address}/team/app:1").returncode != 0
    assert skopeo.inspect(f"{address}/team/app:2").returncode != 0
    client = OciClient(service.url, USER, PASSWORD)
    assert client.get_manifest("team/app", image.digest).status_code == 404
    # No Index: nothing was written to an event outbox.
    assert not os.path.exists(
        os.path.join(workdir, "storage", "wharf", "outbox")
    ) or not os.listdir(os.path.join(workdir, "storage", "wharf", "outbox"))


def test_anonymous_and_wrong_password_refused(network, standalone, tmp_path):
    service, workdir = standalone
    address = f"{service.host}:{service.port}"
    owner = OciClient(service.url, USER, PASSWORD)
    image = Image.random(layers=1, label="d-private")
    owner.push_image("team/private", "1", image)

    anonymous = OciClient(service.url)
    for response in (
        anonymous.ping(),
        anonymous.get_manifest("team/private", "1"),
        anonymous.catalog(),
        anonymous.request("POST", "/v2/team/x/blobs/uploads/"),
    ):
        assert response.status_code == 401, response.text
        assert response.headers["WWW-Authenticate"].lower().startswith("basic ")
    assert _skopeo(network, workdir, "anon").inspect(f"{address}/team/private:1").returncode != 0

    wrong = OciClient(service.url, USER, "not-the-password")
    assert wrong.get_manifest("team/private", "1").status_code == 401
    failed = _skopeo(network, workdir, "wrong").login(
        address, USER, "not-the-password", check=False
    )
    assert failed.returncode != 0
    assert owner.get_manifest("team/private", "1").status_code == 200
    assert "team/private" in owner.catalog_names()


def test_the_standalone_registry_notifies_an_endpoint(network, tmp_path):
    """Scenario D with ``REGISTRY_NOTIFICATIONS_ENDPOINTS``: no Index, and a CI system
    (the receiver) hears of the push and the delete in the reference registry's envelope."""
    receiver = Receiver(network.gateway).start()
    host = network["registry"]
    endpoints = [
        {
            "name": "ci",
            "url": f"{receiver.url}/events",
            "headers": {"Authorization": ["Bearer ci-secret"]},
            "timeout": "2s",
            "ignore": {"actions": ["pull"]},
        }
    ]
    service = GunicornService(
        "wharf_registry.wsgi:app",
        {
            "REGISTRY_AUTH": "none",
            "REGISTRY_STORAGE": "filesystem",
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(tmp_path / "storage"),
            "REGISTRY_STORAGE_DELETE_ENABLED": "true",
            "REGISTRY_NOTIFICATIONS_ENDPOINTS": json.dumps(endpoints),
            "REGISTRY_LOG_FORMAT": "text",
        },
        "registry notifying",
        host=host.address,
        port=host.port(5101),
        prefix=host.prefix,
        extra_args=["--config", "python:wharf_registry.gunicorn_conf"],
    )
    service.start(timeout=60)
    try:
        address = f"{service.host}:{service.port}"
        skopeo = Skopeo(network["client"], tempfile.mkdtemp(dir=tmp_path))
        image = Image.random(layers=2, label="d-notify")
        layout = image.write_layout(str(tmp_path / "src"), "1")
        skopeo.copy(layout, f"docker://{address}/team/notified:1", check=True)
        skopeo.copy(f"docker://{address}/team/notified:1", f"oci:{tmp_path / 'back'}:1", check=True)

        def events(requests):
            return [e for r in requests for e in r.json()["events"]]

        def manifest_pushed(requests):
            return [e for e in events(requests) if e["action"] == "push" and e["target"].get("tag")]

        receiver.wait(manifest_pushed, timeout=30)
        first = receiver.received[0]
        assert first.path == "/events"
        assert first.header("Authorization") == "Bearer ci-secret"
        assert first.header("Content-Type").startswith("application/vnd.docker.distribution.events")
        (pushed,) = manifest_pushed(receiver.received)
        assert pushed["target"]["repository"] == "team/notified"
        assert pushed["target"]["digest"] == image.digest
        assert pushed["target"]["tag"] == "1"
        pushed_blobs = {
            e["target"]["digest"] for e in events(receiver.received) if e["action"] == "push"
        }
        assert set(image.layer_digests) <= pushed_blobs

        skopeo.delete(f"{address}/team/notified@{image.digest}", check=True)
        deleted = receiver.wait(
            lambda got: [e for e in events(got) if e["action"] == "delete"], timeout=30
        )
        assert all(e["action"] != "pull" for e in events(deleted))  # ignored for this endpoint
    finally:
        service.close()
        receiver.stop()
