"""end-2 (GET/HEAD with Range) and end-10 (DELETE) of blobs."""

import pytest


@pytest.fixture
def blob(oci):
    return oci.push_blob("team/app", b"0123456789")


def test_get_and_head(client, blob):
    r = client.get(f"/v2/team/app/blobs/{blob}")
    assert r.status_code == 200 and r.data == b"0123456789"
    assert r.headers["Docker-Content-Digest"] == blob
    head = client.head(f"/v2/team/app/blobs/{blob}")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == "10"
    assert head.headers["Docker-Content-Digest"] == blob


def test_single_range_is_partial_content(client, blob):
    r = client.get(f"/v2/team/app/blobs/{blob}", headers={"Range": "bytes=2-5"})
    assert r.status_code == 206 and r.data == b"2345"
    assert r.headers["Content-Range"] == "bytes 2-5/10"
    tail = client.get(f"/v2/team/app/blobs/{blob}", headers={"Range": "bytes=-3"})
    assert tail.status_code == 206 and tail.data == b"789"


def test_range_past_the_end_is_416(client, oci, blob):
    r = client.get(f"/v2/team/app/blobs/{blob}", headers={"Range": "bytes=10-20"})
    assert r.status_code == 416
    assert r.headers["Content-Range"] == "bytes */10"
    assert oci.codes(r) == ["RANGE_INVALID"]


def test_multi_range_is_ignored(client, blob):
    r = client.get(f"/v2/team/app/blobs/{blob}", headers={"Range": "bytes=0-1,4-5"})
    assert r.status_code == 200 and r.data == b"0123456789"


def test_blob_of_another_repository_is_unknown(client, oci, blob):
    r = client.get(f"/v2/team/other/blobs/{blob}")
    assert r.status_code == 404 and oci.codes(r) == ["BLOB_UNKNOWN"]
    assert client.head(f"/v2/team/other/blobs/{blob}").status_code == 404


def test_unknown_blob(client, oci):
    r = client.get("/v2/team/app/blobs/sha256:" + "a" * 64)
    assert r.status_code == 404 and oci.codes(r) == ["BLOB_UNKNOWN"]
    assert r.get_json()["errors"][0]["detail"] == {"digest": "sha256:" + "a" * 64}


@pytest.mark.parametrize("digest", ["sha256:xyz", "sha256:" + "A" * 64, "md5:" + "a" * 32,
                                    "nocolon"])
def test_bad_or_unsupported_digest(client, oci, digest):
    r = client.get(f"/v2/team/app/blobs/{digest}")
    assert r.status_code == 400 and oci.codes(r) == ["DIGEST_INVALID"]


def test_delete_unlinks_from_this_repository_only(client, oci, blob):
    oci.push_blob("team/other", b"0123456789")
    r = client.delete(f"/v2/team/app/blobs/{blob}")
    assert r.status_code == 202
    assert client.get(f"/v2/team/app/blobs/{blob}").status_code == 404
    assert client.get(f"/v2/team/other/blobs/{blob}").status_code == 200
    again = client.delete(f"/v2/team/app/blobs/{blob}")
    assert again.status_code == 404 and oci.codes(again) == ["BLOB_UNKNOWN"]
