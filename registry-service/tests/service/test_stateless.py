"""Statelessness: two app instances (two "replicas") serve one upload alternately."""

import threading

import pytest
from wharf_protocol.digests import digest_bytes
from wharf_registry.settings import Settings
from wharf_registry.storage import FilesystemDriver

DATA = bytes(range(256)) * 64


@pytest.fixture
def replicas(tmp_path, make_client):
    root = str(tmp_path / "shared")
    settings = Settings(storage_driver="filesystem", storage_params={"rootdirectory": root})
    return [make_client(settings, driver=FilesystemDriver(root)) for _ in range(2)]


def test_post_on_a_patch_on_b_put_on_a(replicas):
    a, b = replicas
    location = a.post("/v2/team/app/blobs/uploads/").headers["Location"]
    r = b.patch(location, data=DATA[:5000], headers={"Content-Range": "0-4999"})
    assert r.status_code == 202 and r.headers["Range"] == "0-4999"
    r = a.patch(location, data=DATA[5000:9000], headers={"Content-Range": "5000-8999"})
    assert r.status_code == 202
    digest = str(digest_bytes(DATA))
    r = a.put(
        f"{location}?digest={digest}",
        data=DATA[9000:],
        headers={"Content-Range": f"9000-{len(DATA) - 1}"},
    )
    assert r.status_code == 201
    assert b.get(f"/v2/team/app/blobs/{digest}").data == DATA


def test_wrong_digest_is_caught_across_replicas(replicas):
    a, b = replicas
    location = a.post("/v2/team/app/blobs/uploads/").headers["Location"]
    b.patch(location, data=DATA, headers={"Content-Range": f"0-{len(DATA) - 1}"})
    wrong = str(digest_bytes(DATA[:-1]))
    r = a.put(f"{location}?digest={wrong}")
    assert r.status_code == 400 and r.get_json()["errors"][0]["code"] == "DIGEST_INVALID"
    assert b.head(f"/v2/team/app/blobs/{wrong}").status_code == 404


def test_two_threads_pushing_the_same_blob_and_tag(replicas):
    a, b = replicas
    config = str(digest_bytes(b"{}"))
    assert a.post(f"/v2/team/app/blobs/uploads/?digest={config}", data=b"{}").status_code == 201
    digest = str(digest_bytes(DATA))
    results = []

    def push(client, layer):
        r = client.post(f"/v2/team/app/blobs/uploads/?digest={digest}", data=DATA)
        assert r.status_code == 201
        body = (
            b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
            b'"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"'
            + config.encode()
            + b'","size":2},"layers":[{"mediaType":"application/'
            b'vnd.oci.image.layer.v1.tar","digest":"'
            + digest.encode()
            + b'","size":'
            + str(len(DATA)).encode()
            + b',"annotations":{"n":"'
            + layer
            + b'"}}]}'
        )
        r = client.put(
            "/v2/team/app/manifests/latest",
            data=body,
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )
        results.append((r.status_code, r.headers.get("Docker-Content-Digest")))

    threads = [threading.Thread(target=push, args=args) for args in ((a, b"1"), (b, b"2"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [status for status, _ in results] == [201, 201]
    assert len({d for _, d in results}) == 2
    current = b.head("/v2/team/app/manifests/latest").headers["Docker-Content-Digest"]
    assert current in {d for _, d in results}
    assert a.get(f"/v2/team/app/blobs/{digest}").data == DATA
    assert a.get("/v2/team/app/tags/list").get_json()["tags"] == ["latest"]
