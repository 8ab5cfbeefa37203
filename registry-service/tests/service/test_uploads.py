"""Uploads: end-4a/4b, end-5, end-6, end-11, end-13 and cancel, with every bad input."""

import hashlib
import io
import threading

import pytest
from wharf_protocol.digests import digest_bytes

DATA = b"The quick brown fox jumps over the lazy dog"
DIGEST = str(digest_bytes(DATA))


def patch(client, location, data, start=None, length=None):
    headers = {"Content-Type": "application/octet-stream"}
    if start is not None:
        headers["Content-Range"] = f"{start}-{start + (length or len(data)) - 1}"
    return client.patch(location, data=data, headers=headers)


def test_session_start_headers(client):
    r = client.post("/v2/team/app/blobs/uploads/")
    assert r.status_code == 202
    assert r.headers["Location"].startswith("/v2/team/app/blobs/uploads/")
    assert r.headers["Range"] == "0-0"
    assert r.headers["Docker-Upload-UUID"] == r.headers["Location"].rsplit("/", 1)[1]


def test_chunked_upload_in_order(client, oci):
    location = oci.start("team/app")
    r = patch(client, location, DATA[:10], start=0)
    assert r.status_code == 202 and r.headers["Range"] == "0-9"
    r = patch(client, r.headers["Location"], DATA[10:20], start=10)
    assert r.headers["Range"] == "0-19"
    status = client.get(location)
    assert status.status_code == 204 and status.headers["Range"] == "0-19"
    r = client.put(
        f"{location}?digest={DIGEST}",
        data=DATA[20:],
        headers={"Content-Range": f"20-{len(DATA) - 1}"},
    )
    assert r.status_code == 201
    assert r.headers["Location"] == f"/v2/team/app/blobs/{DIGEST}"
    assert r.headers["Docker-Content-Digest"] == DIGEST
    assert client.get(f"/v2/team/app/blobs/{DIGEST}").data == DATA
    assert oci.uploads("team/app") == []


def test_patch_without_content_range_and_put_without_body(client, oci):
    location = oci.start("team/app")
    assert client.patch(location, data=DATA[:5]).status_code == 202
    assert client.patch(location, data=DATA[5:]).status_code == 202
    r = client.put(f"{location}?digest={DIGEST}")
    assert r.status_code == 201
    assert client.get(f"/v2/team/app/blobs/{DIGEST}").data == DATA


def test_chunked_transfer_encoding(client, oci):
    location = oci.start("team/app")
    r = client.patch(
        location,
        input_stream=io.BytesIO(DATA),
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert r.status_code == 202 and r.headers["Range"] == f"0-{len(DATA) - 1}"
    assert client.put(f"{location}?digest={DIGEST}").status_code == 201


def test_monolithic_put_after_post(client, oci):
    location = oci.start("team/app")
    r = client.put(f"{location}?digest={DIGEST}", data=DATA)
    assert r.status_code == 201
    assert client.get(f"/v2/team/app/blobs/{DIGEST}").data == DATA


def test_monolithic_post_with_sha512(client):
    digest = "sha512:" + hashlib.sha512(DATA).hexdigest()
    r = client.post(f"/v2/team/app/blobs/uploads/?digest={digest}", data=DATA)
    assert r.status_code == 201 and r.headers["Docker-Content-Digest"] == digest
    assert client.get(f"/v2/team/app/blobs/{digest}").data == DATA


@pytest.mark.parametrize("start", [5, 11])
def test_out_of_order_chunk_is_416_and_keeps_the_session(client, oci, start):
    location = oci.start("team/app")
    patch(client, location, DATA[:10], start=0)
    r = patch(client, location, DATA[start:20], start=start)
    assert r.status_code == 416 and oci.codes(r) == ["BLOB_UPLOAD_INVALID"]
    assert r.headers["Range"] == "0-9"
    assert r.headers["Location"] == location
    assert client.get(location).headers["Range"] == "0-9"


BAD_CONTENT_RANGES = [
    "garbage",
    "5-2",
    "0-99",
    "",
    "bytes=0-9",
    "bytes 0-9",
    "bytes 0-9/10",
    "bytes 0-9/*",
    "0-9/10",
    "0 - 9",
    "0-",
    "-9",
    "0-9,10-19",
    "+0-9",
    "0x0-9",
    "\u0660-\u0669",
    "9" * 20 + "-" + "9" * 20,
    "0-" + "9" * 5000,
]


@pytest.mark.parametrize("method", ["patch", "put"])
@pytest.mark.parametrize("header", BAD_CONTENT_RANGES)
def test_a_content_range_not_of_the_form_start_end_is_416(client, oci, method, header):
    location = oci.start("team/app")
    patch(client, location, DATA[:10], start=0)
    url = f"{location}?digest={DIGEST}" if method == "put" else location
    r = getattr(client, method)(url, data=DATA[10:20], headers={"Content-Range": header})
    assert r.status_code == 416 and oci.codes(r) == ["BLOB_UPLOAD_INVALID"]
    assert r.headers["Range"] == "0-9" and r.headers["Location"] == location
    assert client.get(location).headers["Range"] == "0-9"  # the session is unchanged
    assert patch(client, location, DATA[10:], start=10).status_code == 202


def test_a_range_header_in_place_of_content_range_is_not_appended(client, oci):
    location = oci.start("team/app")
    patch(client, location, DATA[:20], start=0)
    r = client.patch(location, data=DATA[20:30], headers={"Content-Range": "bytes=20-29"})
    assert r.status_code == 416 and client.get(location).headers["Range"] == "0-19"


def test_first_chunk_must_start_at_zero(client, oci):
    r = patch(client, oci.start("team/app"), DATA[:10], start=3)
    assert r.status_code == 416


def test_digest_mismatch_leaves_nothing(client, oci):
    location = oci.start("team/app")
    patch(client, location, DATA, start=0)
    wrong = str(digest_bytes(b"something else"))
    r = client.put(f"{location}?digest={wrong}")
    assert r.status_code == 400 and oci.codes(r) == ["DIGEST_INVALID"]
    assert client.get(f"/v2/team/app/blobs/{wrong}").status_code == 404
    assert client.get(f"/v2/team/app/blobs/{DIGEST}").status_code == 404
    assert oci.stored_blobs() == [] and oci.uploads("team/app") == []
    assert client.get(location).status_code == 404


def test_monolithic_digest_mismatch_leaves_nothing(client, oci):
    wrong = str(digest_bytes(b"x"))
    r = client.post(f"/v2/team/app/blobs/uploads/?digest={wrong}", data=DATA)
    assert r.status_code == 400 and oci.codes(r) == ["DIGEST_INVALID"]
    assert oci.stored_blobs() == [] and oci.uploads("team/app") == []


@pytest.mark.parametrize("digest", ["md5:" + "a" * 32, "sha256:short", ""])
def test_bad_digest_parameter(client, oci, digest):
    r = client.post(f"/v2/team/app/blobs/uploads/?digest={digest}", data=DATA)
    assert r.status_code == 400 and oci.codes(r) == ["DIGEST_INVALID"]
    assert oci.stored_blobs() == []


def test_put_without_digest(client, oci):
    location = oci.start("team/app")
    r = client.put(location, data=DATA)
    assert r.status_code == 400 and oci.codes(r) == ["DIGEST_INVALID"]


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_unknown_upload(client, oci, method):
    url = "/v2/team/app/blobs/uploads/no-such-upload"
    if method == "put":
        url += f"?digest={DIGEST}"
    r = getattr(client, method)(url, data=b"x" if method in ("patch", "put") else None)
    assert r.status_code == 404 and oci.codes(r) == ["BLOB_UPLOAD_UNKNOWN"]


BAD_UPLOAD_IDS = [
    "%2e%2e",
    ".",
    "x:y",
    "a%7Cb",
    "%C2%AD",
    "x%00",
    "a" * 300,
    "0F6C1B5E-3C1A-4B4E-9A52-1E4F2A0E6D01",
    "-",
]


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
@pytest.mark.parametrize("upload_id", BAD_UPLOAD_IDS)
def test_an_upload_id_that_is_no_session_id_is_unknown(client, oci, method, upload_id):
    oci.start("team/app")  # the repository's _uploads/ exists: the id is looked up there
    url = f"/v2/team/app/blobs/uploads/{upload_id}"
    if method == "put":
        url += f"?digest={DIGEST}"
    r = getattr(client, method)(url, data=b"x" if method in ("patch", "put") else None)
    assert r.status_code == 404 and oci.codes(r) == ["BLOB_UPLOAD_UNKNOWN"]


def race(driver, monkeypatch, *requests):
    """Run ``requests`` (callables) in threads, lined up to resume the upload together."""
    barrier = threading.Barrier(len(requests))
    resume = driver.writer

    def writer(path, append=False):
        if append:
            barrier.wait(timeout=10)
        return resume(path, append)

    monkeypatch.setattr(driver, "writer", writer)
    answers = [None] * len(requests)

    def run(i):
        answers[i] = requests[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    monkeypatch.undo()
    return answers


@pytest.mark.parametrize("last_chunk", [False, True])
def test_two_puts_completing_one_upload_at_once(
    any_driver, make_client, settings, oci, monkeypatch, last_chunk
):
    client = make_client(settings, driver=any_driver)
    oci = type(oci)(client)
    location = oci.start("team/app")
    patch(client, location, DATA[:20], start=0)
    body, headers = (
        (DATA[20:], {"Content-Range": f"20-{len(DATA) - 1}"}) if last_chunk else (DATA, {})
    )
    if not last_chunk:
        patch(client, location, DATA[20:], start=20)
        body = None

    def put():
        return client.put(f"{location}?digest={DIGEST}", data=body, headers=headers)

    answers = race(any_driver, monkeypatch, put, put)
    statuses = sorted(r.status_code for r in answers)
    assert statuses in ([201, 201], [201, 404]), [r.get_data(as_text=True) for r in answers]
    for r in answers:
        if r.status_code == 404:
            assert oci.codes(r) == ["BLOB_UPLOAD_UNKNOWN"]
        else:
            assert r.headers["Docker-Content-Digest"] == DIGEST
    assert client.get(f"/v2/team/app/blobs/{DIGEST}").data == DATA
    assert oci.uploads("team/app") == []


def test_upload_is_scoped_to_its_repository(client, oci):
    location = oci.start("team/app")
    other = location.replace("/team/app/", "/team/other/")
    assert client.get(other).status_code == 404


def test_cancel(client, oci):
    location = oci.start("team/app")
    patch(client, location, DATA, start=0)
    assert client.delete(location).status_code == 204
    assert client.get(location).status_code == 404
    assert oci.uploads("team/app") == []


def test_truncated_patch_discards_the_chunk_and_the_session(client, oci):
    location = oci.start("team/app")
    patch(client, location, DATA[:10], start=0)
    r = client.patch(
        location, input_stream=io.BytesIO(DATA[10:15]), environ_overrides={"CONTENT_LENGTH": "20"}
    )
    assert r.status_code == 400 and oci.codes(r) == ["BLOB_UPLOAD_INVALID"]
    assert client.get(location).status_code == 404
    assert oci.uploads("team/app") == [] and oci.stored_blobs() == []


def test_truncated_monolithic_body_leaves_nothing(client, oci):
    r = client.post(
        f"/v2/team/app/blobs/uploads/?digest={DIGEST}",
        input_stream=io.BytesIO(DATA[:7]),
        environ_overrides={"CONTENT_LENGTH": str(len(DATA)), "wsgi.input_terminated": True},
    )
    assert r.status_code == 400 and oci.codes(r) == ["BLOB_UPLOAD_INVALID"]
    assert oci.stored_blobs() == [] and oci.uploads("team/app") == []
    assert client.head(f"/v2/team/app/blobs/{DIGEST}").status_code == 404


def test_truncated_final_chunk_leaves_nothing(client, oci):
    location = oci.start("team/app")
    r = client.put(
        f"{location}?digest={DIGEST}",
        input_stream=io.BytesIO(DATA[:7]),
        environ_overrides={"CONTENT_LENGTH": str(len(DATA))},
    )
    assert r.status_code == 400
    assert oci.stored_blobs() == [] and oci.uploads("team/app") == []


def test_mount_from_a_repository_holding_the_blob(client, oci, sink):
    digest = oci.push_blob("team/base", DATA)
    r = client.post(f"/v2/team/app/blobs/uploads/?mount={digest}&from=team/base")
    assert r.status_code == 201
    assert r.headers["Location"] == f"/v2/team/app/blobs/{digest}"
    assert client.get(f"/v2/team/app/blobs/{digest}").data == DATA
    assert ("mount", "team/app", digest) in sink.actions()


@pytest.mark.parametrize(
    "query",
    [
        f"mount={DIGEST}&from=team/empty",
        f"mount={DIGEST}&from=BAD..name",
        "mount=sha256:nope&from=team/base",
        f"mount={DIGEST}",
    ],
)
def test_mount_falls_back_to_a_session(client, oci, query):
    oci.push_blob("team/base", b"other content")
    r = client.post(f"/v2/team/app/blobs/uploads/?{query}")
    assert r.status_code == 202
    assert "/blobs/uploads/" in r.headers["Location"]
    assert client.get(f"/v2/team/app/blobs/{DIGEST}").status_code == 404
