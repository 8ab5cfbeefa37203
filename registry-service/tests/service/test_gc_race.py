"""Garbage collection racing pushes: nothing a manifest references is ever lost.

Pusher threads push images sharing layers, move and delete tags and manifests, and re-push,
while a collector runs again and again with windows scaled down to seconds. A push may be
refused (a layer the collector freed: MANIFEST_BLOB_UNKNOWN, then the pusher uploads it again;
or 503 when the collector held it); what must never happen is a stored manifest revision
whose manifest, config or layer bytes are gone. The run is bounded by counts, not time.
"""

from __future__ import annotations

import json
import random
import threading

from wharf_protocol import mediatypes
from wharf_protocol.digests import Digest, digest_bytes
from wharf_registry.content import paths
from wharf_registry.gc import Collector, GcOptions, GcRefused
from wharf_registry.settings import Settings
from wharf_registry.storage import PathNotFound

PUSHERS = 3
ROUNDS = 16
CONFIG = b'{"architecture":"amd64","os":"linux"}'
SHARED = [b"base-layer-1", b"base-layer-2"]
OPTIONS = GcOptions(
    grace=2.0, uploads_older_than=60, touch_after=0.3, push_deadline=1.0, clock_skew=0.3
)


def manifest(layers: list[bytes]) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": {
            "mediaType": mediatypes.OCI_CONFIG,
            "digest": str(digest_bytes(CONFIG)),
            "size": len(CONFIG),
        },
        "layers": [
            {"mediaType": mediatypes.OCI_LAYER_GZIP, "digest": str(digest_bytes(x)), "size": len(x)}
            for x in layers
        ],
    }
    return json.dumps(doc).encode()


def codes(response) -> list[str]:
    return [e["code"] for e in response.get_json()["errors"]]


class Pusher:
    def __init__(self, client, number: int) -> None:
        self.client = client
        self.name = f"race/p{number}"
        self.number = number
        self.random = random.Random(number)
        self.errors: list[str] = []

    def upload(self, blob: bytes) -> None:
        """Upload ``blob``, again after a 503 (the collector held it, or the machine was slow)."""
        for _ in range(5):
            r = self.client.post(
                f"/v2/{self.name}/blobs/uploads/?digest={digest_bytes(blob)}", data=blob
            )
            if r.status_code == 201:
                return
            if r.status_code != 503:
                self.errors.append(f"upload {r.status_code} {r.get_data(as_text=True)}")
                return

    def push(self, tag: str, layers: list[bytes]) -> None:
        body = manifest(layers)
        for _ in range(5):
            r = self.client.put(
                f"/v2/{self.name}/manifests/{tag}",
                data=body,
                headers={"Content-Type": mediatypes.OCI_MANIFEST},
            )
            if r.status_code == 201:
                return
            found = codes(r)
            if found and set(found) <= {"MANIFEST_BLOB_UNKNOWN"}:
                for blob in (CONFIG, *layers):  # freed meanwhile: upload again, as clients do
                    self.upload(blob)
            elif r.status_code != 503:
                self.errors.append(f"{r.status_code} {r.get_data(as_text=True)}")
                return

    def run(self) -> None:
        for blob in (CONFIG, *SHARED):
            self.upload(blob)
        earlier: list[bytes] = []
        for i in range(ROUNDS):
            own = f"own-{self.number}-{i}".encode()
            self.upload(own)
            # layers uploaded rounds ago, perhaps unreferenced since: still linked here, so
            # the push relies on them without uploading them again (the case the touch covers)
            reused = self.random.sample(earlier, min(2, len(earlier)))
            tag = f"t{self.random.randrange(3)}"
            self.push(tag, [*self.random.sample(SHARED, 1), *reused, own])
            earlier.append(own)
            action = self.random.random()
            if action < 0.5:
                self.client.delete(f"/v2/{self.name}/manifests/{tag}")
            elif action < 0.8:
                r = self.client.head(f"/v2/{self.name}/manifests/{tag}")
                digest = r.headers.get("Docker-Content-Digest")
                if digest:
                    self.client.delete(f"/v2/{self.name}/manifests/{digest}")
            threading.Event().wait(self.random.uniform(0.05, 0.4))


class SlowCollector(Collector):
    """A collector with a large registry's gap between its mark and its sweep, when pushes
    can reference blobs the mark did not see referenced."""

    def _sweep(self, cutoff):
        threading.Event().wait(0.3)
        super()._sweep(cutoff)


def revisions(store, name: str) -> list[Digest]:
    found = []
    base = f"{paths.manifests(name)}/revisions/sha256"
    try:
        entries = store.list(base)
    except PathNotFound:
        return []
    for entry in entries:
        try:
            store.stat(f"{entry}/link")
        except PathNotFound:
            continue
        found.append(Digest.parse("sha256:" + paths.basename(entry)))
    return found


def missing_blobs(store, name: str) -> list[str]:
    missing = []
    for digest in revisions(store, name):
        try:
            body = store.get_content(paths.blob_data(digest))
        except PathNotFound:
            missing.append(f"manifest {digest}")
            continue
        doc = json.loads(body)
        for ref in [doc["config"], *doc["layers"]]:
            try:
                store.stat(paths.blob_data(Digest.parse(ref["digest"])))
            except PathNotFound:
                missing.append(f"{ref['digest']} of {digest}")
    return missing


def test_collections_racing_pushes_lose_nothing_referenced(store, make_client):
    settings = Settings(
        storage_driver="inmemory",
        gc_touch_after=OPTIONS.touch_after,
        gc_push_deadline=OPTIONS.push_deadline,
    )
    app = make_client(settings, driver=store).application
    pushers = [Pusher(app.test_client(), n) for n in range(PUSHERS)]
    threads = [threading.Thread(target=p.run) for p in pushers]
    for t in threads:
        t.start()
    runs, freed = 0, 0
    while any(t.is_alive() for t in threads) and runs < 200:
        try:
            freed += SlowCollector(store, OPTIONS).run().blobs_deleted
        except GcRefused:
            pass
        runs += 1
    for t in threads:
        t.join()
    freed += Collector(store, OPTIONS).run().blobs_deleted
    assert runs > 1 and freed > 0
    for p in pushers:
        assert p.errors == []
        assert missing_blobs(store, p.name) == []
        for tag in ("t0", "t1", "t2"):
            r = p.client.get(f"/v2/{p.name}/manifests/{tag}")
            assert r.status_code in (200, 404)
            if r.status_code == 200:
                for ref in json.loads(r.get_data())["layers"]:
                    blob = p.client.get(f"/v2/{p.name}/blobs/{ref['digest']}")
                    assert blob.status_code == 200, (tag, ref)
