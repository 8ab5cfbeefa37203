"""A subset of the API over every driver: inmemory, filesystem and s3 (moto)."""

import pytest
import requests
from wharf_protocol.digests import digest_bytes
from wharf_registry.settings import Settings
from wharf_registry.storage import create_driver

DATA = bytes(range(256)) * 300


@pytest.fixture
def backend_client(any_driver, make_client):
    return make_client(Settings(storage_driver=any_driver.name), driver=any_driver)


def test_chunked_push_range_pull_and_manifest(backend_client):
    client = backend_client
    location = client.post("/v2/team/app/blobs/uploads/").headers["Location"]
    assert (
        client.patch(location, data=DATA[:40000], headers={"Content-Range": "0-39999"}).status_code
        == 202
    )
    assert client.get(location).headers["Range"] == "0-39999"
    digest = str(digest_bytes(DATA))
    r = client.put(f"{location}?digest={digest}", data=DATA[40000:])
    assert r.status_code == 201
    assert client.get(f"/v2/team/app/blobs/{digest}").data == DATA
    part = client.get(f"/v2/team/app/blobs/{digest}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == DATA[100:200]
    config = str(digest_bytes(b"{}"))
    client.post(f"/v2/team/app/blobs/uploads/?digest={config}", data=b"{}")
    body = (
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        f'"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}",'
        f'"size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar",'
        f'"digest":"{digest}","size":{len(DATA)}}}]}}'
    ).encode()
    r = client.put(
        "/v2/team/app/manifests/v1",
        data=body,
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert r.status_code == 201
    assert client.get("/v2/team/app/manifests/v1").data == body
    assert client.get("/v2/_catalog").get_json() == {"repositories": ["team/app"]}
    assert client.get("/v2/team/app/tags/list").get_json()["tags"] == ["v1"]


def test_digest_mismatch_and_cancel_leave_nothing(backend_client):
    client = backend_client
    location = client.post("/v2/team/app/blobs/uploads/").headers["Location"]
    client.patch(location, data=DATA[:1000])
    wrong = str(digest_bytes(b"nope"))
    assert client.put(f"{location}?digest={wrong}").status_code == 400
    assert client.get(location).status_code == 404
    location = client.post("/v2/team/app/blobs/uploads/").headers["Location"]
    client.patch(location, data=DATA[:1000])
    assert client.delete(location).status_code == 204
    assert client.get(location).status_code == 404
    assert client.get("/v2/_catalog").get_json() == {"repositories": []}


@pytest.mark.parametrize("redirect", [True, False])
def test_s3_blob_downloads_redirect_to_a_presigned_url(make_client, s3_server, s3_bucket, redirect):
    driver = create_driver(
        "s3",
        {
            "bucket": s3_bucket,
            "endpoint_url": s3_server.endpoint_url,
            "region": s3_server.region,
            "redirect": str(redirect).lower(),
        },
    )
    client = make_client(Settings(storage_driver="s3"), driver=driver)
    digest = str(digest_bytes(DATA))
    assert client.post(f"/v2/team/app/blobs/uploads/?digest={digest}", data=DATA).status_code == 201
    r = client.get(f"/v2/team/app/blobs/{digest}")
    if not redirect:
        assert r.status_code == 200 and r.data == DATA
        return
    assert r.status_code == 307
    location = r.headers["Location"]
    assert location.startswith(s3_server.endpoint_url) and "Signature" in location
    assert requests.get(location, timeout=30).content == DATA  # the storage serves it itself
    head = client.head(f"/v2/team/app/blobs/{digest}")
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(DATA))
    ranged = client.get(f"/v2/team/app/blobs/{digest}", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.data == DATA[:10]  # ranges are served here
