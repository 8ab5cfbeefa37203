"""The vertical slice: ping, monolithic blob, blob GET, manifest PUT/GET, tags list."""

from wharf_protocol import mediatypes


def test_ping_has_version_header_and_request_id(client):
    r = client.get("/v2/", headers={"X-Request-ID": "abc-123"})
    assert r.status_code == 200
    assert r.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert r.headers["X-Request-ID"] == "abc-123"


def test_push_and_pull_an_image(client, oci):
    digest, body = oci.push_image("library/hello", "v1", layers=[b"abc", b"defg"])
    r = client.get("/v2/library/hello/manifests/v1")
    assert r.status_code == 200
    assert r.data == body
    assert r.headers["Content-Type"] == mediatypes.OCI_MANIFEST
    assert r.headers["Docker-Content-Digest"] == digest
    layer = client.get(f"/v2/library/hello/blobs/{oci.push_blob('library/hello', b'abc')}")
    assert layer.status_code == 200 and layer.data == b"abc"
    tags = client.get("/v2/library/hello/tags/list")
    assert tags.get_json() == {"name": "library/hello", "tags": ["v1"]}
