"""content/ over the in-memory driver: uploads, hashing across processes, catalog, tags."""

import io

import pytest
from wharf_protocol.digests import Digest, digest_bytes
from wharf_registry.content import Content
from wharf_registry.content.errors import (
    BlobUnknown,
    DigestMismatch,
    ManifestUnknown,
    UploadInvalid,
    UploadRangeInvalid,
    UploadUnknown,
)
from wharf_registry.content.uploads import Body
from wharf_registry.storage import InMemoryDriver

DATA = b"abcdefghij" * 100


@pytest.fixture
def driver():
    return InMemoryDriver()


@pytest.fixture
def content(driver):
    return Content(driver)


def body(data, start=None, length=None):
    return Body(io.BytesIO(data), len(data) if length is None else length, start)


def test_upload_in_chunks_uses_the_cached_hasher(content, monkeypatch):
    upload = content.uploads.start("a")
    content.uploads.append("a", upload, body(DATA[:300], 0))
    content.uploads.append("a", upload, body(DATA[300:], 300))
    monkeypatch.setattr(
        "wharf_registry.content.uploads.hash_stream",
        lambda *a: pytest.fail("should not re-read the data"),
    )
    digest = digest_bytes(DATA)
    assert content.uploads.finish("a", upload, digest, None) == len(DATA)
    assert content.blobs.stat("a", digest) == len(DATA)


def test_another_process_rehashes_from_storage(driver):
    first, second = Content(driver), Content(driver)
    upload = first.uploads.start("a")
    first.uploads.append("a", upload, body(DATA[:300], 0))
    second.uploads.append("a", upload, body(DATA[300:600], 300))  # no hasher here
    first.uploads.append("a", upload, body(DATA[600:], 600))  # stale hasher size: no hit
    digest = digest_bytes(DATA)
    assert first.uploads.finish("a", upload, digest, None) == len(DATA)
    with second.blobs.open(digest) as f:
        assert f.read() == DATA


def test_mismatch_deletes_the_session(content):
    upload = content.uploads.start("a")
    content.uploads.append("a", upload, body(DATA))
    with pytest.raises(DigestMismatch):
        content.uploads.finish("a", upload, digest_bytes(b"x"), None)
    with pytest.raises(UploadUnknown):
        content.uploads.status("a", upload)
    with pytest.raises(BlobUnknown):
        content.blobs.size(digest_bytes(DATA))


def test_wrong_offset_keeps_the_session(content):
    upload = content.uploads.start("a")
    content.uploads.append("a", upload, body(DATA[:10], 0))
    with pytest.raises(UploadRangeInvalid) as info:
        content.uploads.append("a", upload, body(DATA[20:30], 20))
    assert info.value.size == 10 and content.uploads.status("a", upload) == 10


def test_short_body_drops_the_session(content):
    upload = content.uploads.start("a")
    with pytest.raises(UploadInvalid):
        content.uploads.append("a", upload, body(DATA[:10], 0, length=50))
    with pytest.raises(UploadUnknown):
        content.uploads.status("a", upload)


class Exploding(io.BytesIO):
    def read(self, n=-1):
        raise OSError("connection reset")


def test_failing_body_drops_a_monolithic_upload(content, driver):
    with pytest.raises(UploadInvalid):
        content.uploads.put("a", digest_bytes(DATA), Body(Exploding(), 10))
    assert list(driver.walk("/")) == []


def test_blob_links_and_mount(content):
    digest = digest_bytes(DATA)
    content.uploads.put("a", digest, body(DATA))
    assert content.blobs.mount("b", digest, "a") == len(DATA)
    assert content.blobs.mount("c", digest, "nowhere") is None
    content.blobs.unlink("a", digest)
    assert not content.blobs.is_linked("a", digest) and content.blobs.is_linked("b", digest)


def test_catalog_walks_nested_names_in_order(content):
    digest = digest_bytes(b"x")
    names = ["z", "a/b/c", "a", "a-b", "a/b", "m/n", "a0"]
    for name in names:
        content.uploads.put(name, digest, body(b"x"))
    everything, more = content.catalog.page(100)
    assert everything == ["a", "a/b", "a/b/c", "a-b", "a0", "m/n", "z"] and not more
    pages, last = [], None
    while True:
        page, more = content.catalog.page(2, last)
        pages += page
        if not more:
            break
        last = page[-1]
    assert pages == everything
    assert content.catalog.page(10, "a/b/c")[0] == ["a-b", "a0", "m/n", "z"]
    only_a = lambda names: [n for n in names if n.startswith("a/")]  # noqa: E731
    assert content.catalog.page(10, visible=only_a)[0] == ["a/b", "a/b/c"]


def test_tags_resolve_and_page(content):
    digest = Digest("sha256", "a" * 64)
    for tag in ("v3", "v1", "v2"):
        content.tags.set("a", tag, digest)
    assert content.tags.page("a", 2, None) == (["v1", "v2"], True)
    assert content.tags.page("a", 2, "v2") == (["v3"], False)
    assert content.tags.tags_of("a", digest) == ["v1", "v2", "v3"]
    assert content.tags.delete("a", "v1") == digest
    with pytest.raises(ManifestUnknown):
        content.tags.resolve("a", "v1")


def test_catalog_filters_in_growing_batches(content):
    digest = digest_bytes(b"x")
    names = [f"n/r{i:03d}" for i in range(60)]
    for name in names:
        content.uploads.put(name, digest, body(b"x"))
    asked: list[int] = []

    def last_two(batch):
        asked.append(len(batch))
        return [name for name in batch if name in ("n/r058", "n/r059")]

    assert content.catalog.page(1, visible=last_two) == (["n/r058"], True)
    assert asked == [2, 4, 8, 16, 30]  # doubling: 5 questions for 60 names, not 30
    asked.clear()
    assert content.catalog.page(5, visible=last_two) == (["n/r058", "n/r059"], False)
    assert sum(asked) == 60 and asked[0] == 6
