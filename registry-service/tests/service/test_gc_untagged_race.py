"""Collections deleting untagged manifests while tags are pushed: no tag loses its manifest.

Pusher threads move tags among a few images (so revisions fall untagged, age past the 4 s
grace window and are deleted) and push them again by tag (racing their deletion), and push
multi-platform indexes (children by digest, then the index by tag). A collector with a pause
between reading the tags and deleting runs again and again. A push may be refused
(MANIFEST_BLOB_UNKNOWN: the client uploads again; 503: it retries); what must never happen is
a tag whose manifest, index child, config or layer is gone. Bounded by counts, not time.
"""

from __future__ import annotations

import json
import random
import threading

from wharf_protocol import mediatypes
from wharf_protocol.digests import digest_bytes
from wharf_registry.gc import Collector, GcOptions, GcRefused
from wharf_registry.settings import Settings

PUSHERS = 2
ROUNDS = 14
CONFIG = b'{"architecture":"amd64","os":"linux"}'
# The clock-skew margin covers the storage's timestamp granularity too: S3 keeps whole
# seconds, so a use read back may be up to a second older than it was (a 0.3 s margin let a
# tag pushed in that second lose its manifest on S3). It stays within touch_after.
OPTIONS = GcOptions(
    delete_untagged=True,
    grace=4.0,
    uploads_older_than=60,
    touch_after=1.2,
    push_deadline=1.0,
    clock_skew=1.2,
)


def image(layer: bytes) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": {
            "mediaType": mediatypes.OCI_CONFIG,
            "digest": str(digest_bytes(CONFIG)),
            "size": len(CONFIG),
        },
        "layers": [
            {
                "mediaType": mediatypes.OCI_LAYER_GZIP,
                "digest": str(digest_bytes(layer)),
                "size": len(layer),
            }
        ],
    }
    return json.dumps(doc).encode()


def index(children: list[bytes]) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_INDEX,
        "manifests": [
            {"mediaType": mediatypes.OCI_MANIFEST, "digest": str(digest_bytes(c)), "size": len(c)}
            for c in children
        ],
    }
    return json.dumps(doc).encode()


class Pusher:
    def __init__(self, client, number: int) -> None:
        self.client = client
        self.name = f"race/u{number}"
        self.random = random.Random(number)
        self.layers = [f"layer-{number}-{i}".encode() for i in range(3)]
        self.errors: list[str] = []

    def upload(self, blob: bytes) -> None:
        for _ in range(5):
            r = self.client.post(
                f"/v2/{self.name}/blobs/uploads/?digest={digest_bytes(blob)}", data=blob
            )
            if r.status_code == 201:
                return
            if r.status_code != 503:
                self.errors.append(f"upload {r.status_code} {r.get_data(as_text=True)}")
                return

    def put(self, ref: str, body: bytes, media_type: str, layers: list[bytes]) -> bool:
        """PUT as a client does: upload again what the registry says is missing, retry."""
        for _ in range(6):
            r = self.client.put(
                f"/v2/{self.name}/manifests/{ref}", data=body, headers={"Content-Type": media_type}
            )
            if r.status_code == 201:
                return True
            found = [e["code"] for e in r.get_json()["errors"]]
            if found == ["MANIFEST_BLOB_UNKNOWN"]:
                for layer in layers:
                    if media_type == mediatypes.OCI_INDEX:
                        self.put(str(digest_bytes(image(layer))), image(layer), OCI, [layer])
                    else:
                        for blob in (CONFIG, layer):
                            self.upload(blob)
            elif r.status_code != 503:
                self.errors.append(f"{ref}: {r.status_code} {r.get_data(as_text=True)}")
                return False
        return False

    def run(self) -> None:
        for blob in (CONFIG, *self.layers):
            self.upload(blob)
        for _ in range(ROUNDS):
            if self.random.random() < 0.3:  # a multi-platform push: children, then the index
                chosen = self.random.sample(self.layers, 2)
                for layer in chosen:
                    self.put(str(digest_bytes(image(layer))), image(layer), OCI, [layer])
                body = index([image(layer) for layer in chosen])
                self.put("multi", body, mediatypes.OCI_INDEX, chosen)
            else:  # a tag moves to another image, perhaps one untagged long enough to go
                layer = self.random.choice(self.layers)
                self.put(f"t{self.random.randrange(2)}", image(layer), OCI, [layer])
            threading.Event().wait(self.random.uniform(0.2, 1.2))


OCI = mediatypes.OCI_MANIFEST


class SlowCollector(Collector):
    """A collector with a large registry's gap between reading a repository's tags and
    deleting its untagged revisions, when tags can be pushed unseen."""

    def _tagged(self, name):
        found = super()._tagged(name)
        threading.Event().wait(0.2)
        return found


def check_tag(client, name: str, tag: str) -> list[str]:
    """What is missing of ``tag`` (nothing when the tag does not exist)."""
    listed = client.get(f"/v2/{name}/tags/list")
    if listed.status_code == 404 or tag not in (listed.get_json()["tags"] or []):
        return []
    r = client.get(f"/v2/{name}/manifests/{tag}")
    if r.status_code != 200:
        return [f"{tag}: {r.status_code} (the tag exists, its manifest does not)"]
    doc = json.loads(r.get_data())
    missing = []
    for child in doc.get("manifests", []):
        c = client.get(f"/v2/{name}/manifests/{child['digest']}")
        if c.status_code != 200:
            missing.append(f"{tag} child {child['digest']}")
            continue
        doc_c = json.loads(c.get_data())
        for ref in [doc_c["config"], *doc_c["layers"]]:
            if client.get(f"/v2/{name}/blobs/{ref['digest']}").status_code != 200:
                missing.append(f"{tag} child blob {ref['digest']}")
    for ref in [doc["config"], *doc["layers"]] if "config" in doc else []:
        if client.get(f"/v2/{name}/blobs/{ref['digest']}").status_code != 200:
            missing.append(f"{tag} blob {ref['digest']}")
    return missing


def test_tags_pushed_while_untagged_manifests_are_deleted_keep_their_content(store, make_client):
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
    runs, deleted, missing = 0, 0, []
    while any(t.is_alive() for t in threads) and runs < 200:
        try:
            deleted += SlowCollector(store, OPTIONS).run().manifests_deleted
        except GcRefused:
            pass
        runs += 1
        for p in pushers:  # checked while pushes go on, not only at the end
            for tag in ("t0", "t1", "multi"):
                missing += check_tag(p.client, p.name, tag)
    for t in threads:
        t.join()
    threading.Event().wait(OPTIONS.grace + 1.5)
    deleted += Collector(store, OPTIONS).run().manifests_deleted
    assert runs > 1 and deleted > 0
    for p in pushers:
        assert p.errors == []
        for tag in ("t0", "t1", "multi"):
            missing += check_tag(p.client, p.name, tag)
    assert missing == []
