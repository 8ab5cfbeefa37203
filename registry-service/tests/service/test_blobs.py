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


@pytest.mark.parametrize(
    ("header", "part", "content_range"),
    [
        ("bytes=2-5", b"2345", "2-5"),
        ("bytes=7-", b"789", "7-9"),
        ("bytes=8-100", b"89", "8-9"),
        ("bytes=-3", b"789", "7-9"),
        ("bytes=-100", b"0123456789", "0-9"),
        ("BYTES=0-0", b"0", "0-0"),
        ("bytes= 4-4 ,", b"4", "4-4"),
        ("bytes=9-9", b"9", "9-9"),
        ("bytes=0-" + "9" * 5000, b"0123456789", "0-9"),
    ],
)
def test_one_satisfiable_range_is_partial_content(client, blob, header, part, content_range):
    r = client.get(f"/v2/team/app/blobs/{blob}", headers={"Range": header})
    assert r.status_code == 206 and r.data == part
    assert r.headers["Content-Range"] == f"bytes {content_range}/10"
    assert r.headers["Content-Length"] == str(len(part))


@pytest.mark.parametrize(
    "header",
    [
        "bytes=10-20",
        "bytes=10-",
        "bytes=-0",
        "bytes=" + "9" * 30 + "-",  # unsatisfiable
        "bytes=500-0",
        "bytes=5-2",
        "bytes=0-1,5-2",  # inverted
        "bytes=abc",
        "bytes=",
        "bytes=,",
        "bytes=1-2-3",
        "bytes=--1",
        "bytes=1--2",
        "bytes=0x1-2",
        "bytes=1 - 2",
        "bytes=\u0661-\u0662",  # not a range-set
    ],
)
def test_an_invalid_or_unsatisfiable_range_is_416(client, oci, blob, header):
    r = client.get(f"/v2/team/app/blobs/{blob}", headers={"Range": header})
    assert r.status_code == 416 and oci.codes(r) == ["SIZE_INVALID"]
    assert r.headers["Content-Range"] == "bytes */10"


@pytest.mark.parametrize(
    "headers",
    [
        {"Range": "bytes=0-1,4-5"},  # several ranges: no multipart, the whole blob
        {"Range": "items=0-1"},
        {"Range": "0-1"},
        {"Range": "bytes 0-1"},
        {"Range": "=0-1"},
        {"Range": "bytes=0-1", "If-Range": '"sha256:' + "0" * 64 + '"'},
        {"Range": "bytes=0-1", "If-Range": "Wed, 21 Oct 2015 07:28:00 GMT"},
    ],
)
def test_ranges_the_registry_ignores_get_the_whole_blob(client, blob, headers):
    r = client.get(f"/v2/team/app/blobs/{blob}", headers=headers)
    assert r.status_code == 200 and r.data == b"0123456789"


def test_if_range_with_the_blob_etag_keeps_the_range(client, blob):
    r = client.get(
        f"/v2/team/app/blobs/{blob}", headers={"Range": "bytes=1-2", "If-Range": f'"{blob}"'}
    )
    assert r.status_code == 206 and r.data == b"12"
    weak = client.get(
        f"/v2/team/app/blobs/{blob}", headers={"Range": "bytes=1-2", "If-Range": f'W/"{blob}"'}
    )
    assert weak.status_code == 200


def test_head_ignores_range(client, blob):
    r = client.head(f"/v2/team/app/blobs/{blob}", headers={"Range": "bytes=500-0"})
    assert r.status_code == 200 and r.headers["Content-Length"] == "10"


def test_ranges_of_an_empty_blob(client, oci):
    empty = oci.push_blob("team/app", b"")
    assert (
        client.get(f"/v2/team/app/blobs/{empty}", headers={"Range": "bytes=0-"}).status_code == 416
    )
    r = client.get(f"/v2/team/app/blobs/{empty}", headers={"Range": "bytes=-5"})
    assert r.status_code == 200 and r.data == b""


def test_blob_of_another_repository_is_unknown(client, oci, blob):
    r = client.get(f"/v2/team/other/blobs/{blob}")
    assert r.status_code == 404 and oci.codes(r) == ["BLOB_UNKNOWN"]
    assert client.head(f"/v2/team/other/blobs/{blob}").status_code == 404


def test_unknown_blob(client, oci):
    r = client.get("/v2/team/app/blobs/sha256:" + "a" * 64)
    assert r.status_code == 404 and oci.codes(r) == ["BLOB_UNKNOWN"]
    assert r.get_json()["errors"][0]["detail"] == {"digest": "sha256:" + "a" * 64}


@pytest.mark.parametrize(
    "digest", ["sha256:xyz", "sha256:" + "A" * 64, "md5:" + "a" * 32, "nocolon"]
)
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
