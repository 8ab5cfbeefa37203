"""Manifests: end-3 (GET/HEAD), end-7 (PUT with validation), end-9 (DELETE)."""

import json

import pytest
from wharf_protocol import mediatypes
from wharf_protocol.digests import digest_bytes
from wharf_protocol.events import Platform

MISSING = "sha256:" + "b" * 64


def test_push_by_digest_and_get_by_digest(client, oci):
    body = oci.image("team/app")
    digest = str(digest_bytes(body))
    r = oci.put_manifest("team/app", digest, body)
    assert r.headers["Location"] == f"/v2/team/app/manifests/{digest}"
    got = client.get(f"/v2/team/app/manifests/{digest}")
    assert got.data == body and got.headers["Docker-Content-Digest"] == digest
    assert client.get("/v2/team/app/tags/list").get_json()["tags"] == []


def test_head(client, oci):
    digest, body = oci.push_image("team/app", "v1")
    r = client.head("/v2/team/app/manifests/v1")
    assert r.status_code == 200 and r.data == b""
    assert r.headers["Content-Length"] == str(len(body))
    assert r.headers["Docker-Content-Digest"] == digest
    assert r.headers["Content-Type"] == mediatypes.OCI_MANIFEST


def test_docker_schema2_manifest_and_list(client, oci):
    digest, body = oci.push_image("team/app", "amd64", media_type=mediatypes.DOCKER_MANIFEST)
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.DOCKER_MANIFEST_LIST,
            "manifests": [
                {
                    "mediaType": mediatypes.DOCKER_MANIFEST,
                    "digest": digest,
                    "size": len(body),
                    "platform": {"architecture": "amd64", "os": "linux"},
                }
            ],
        }
    ).encode()
    oci.put_manifest("team/app", "latest", index)
    r = client.get("/v2/team/app/manifests/latest")
    assert r.headers["Content-Type"] == mediatypes.DOCKER_MANIFEST_LIST and r.data == index


def test_oci_index_with_missing_child(client, oci):
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_INDEX,
            "manifests": [{"mediaType": mediatypes.OCI_MANIFEST, "digest": MISSING, "size": 10}],
        }
    ).encode()
    r = oci.put_manifest("team/app", "latest", index, status=404)
    assert oci.codes(r) == ["MANIFEST_BLOB_UNKNOWN"]
    assert r.get_json()["errors"][0]["detail"] == {"digest": MISSING}
    assert client.get("/v2/team/app/manifests/latest").status_code == 404


def test_manifest_naming_a_missing_blob(client, oci):
    body = json.loads(oci.image("team/app"))
    body["layers"].append({"mediaType": mediatypes.OCI_LAYER_GZIP, "digest": MISSING, "size": 3})
    r = oci.put_manifest("team/app", "v1", json.dumps(body).encode(), status=404)
    assert oci.codes(r) == ["MANIFEST_BLOB_UNKNOWN"]
    assert client.get("/v2/team/app/manifests/v1").status_code == 404
    assert client.get("/v2/team/app/tags/list").get_json()["tags"] == []


def test_blob_linked_only_in_another_repository_is_missing(client, oci):
    body = oci.image("team/base")
    r = oci.put_manifest("team/app", "v1", body, status=404)
    assert oci.codes(r) == ["MANIFEST_BLOB_UNKNOWN", "MANIFEST_BLOB_UNKNOWN"]


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"schemaVersion": 1}',
        b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}',
        b'{"schemaVersion": 2, "config": {"digest": "sha256:zz", "size": 1, "mediaType": "x"},'
        b' "layers": []}',
    ],
)
def test_malformed_manifest(client, oci, body):
    r = oci.put_manifest("team/app", "v1", body, media_type=mediatypes.OCI_MANIFEST, status=400)
    assert oci.codes(r) == ["MANIFEST_INVALID"]
    assert client.get("/v2/team/app/manifests/v1").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"schemaVersion": 2, "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        b'{"schemaVersion": 2, "x": ' + b'{"a": ' * 10_000,
    ],
)
def test_deeply_nested_json_is_an_invalid_manifest(client, oci, body):
    r = oci.put_manifest("team/app", "v1", body, media_type=mediatypes.OCI_MANIFEST, status=400)
    assert oci.codes(r) == ["MANIFEST_INVALID"]
    assert "deeper than 64" in r.get_json()["errors"][0]["message"]


def test_content_type_contradicting_the_body(client, oci):
    body = oci.image("team/app")
    r = oci.put_manifest("team/app", "v1", body, media_type=mediatypes.DOCKER_MANIFEST, status=400)
    assert oci.codes(r) == ["MANIFEST_INVALID"]
    assert client.get("/v2/team/app/manifests/v1").status_code == 404


def test_unsupported_media_type(client, oci):
    r = oci.put_manifest(
        "team/app", "v1", b'{"schemaVersion": 2}', media_type="application/json", status=400
    )
    assert oci.codes(r) == ["MANIFEST_INVALID"]


def test_oversized_manifest_is_413(client, oci, settings):
    body = json.loads(oci.image("team/app"))
    body["annotations"] = {"pad": "x" * settings.manifest_max_size}
    r = oci.put_manifest("team/app", "v1", json.dumps(body).encode(), status=413)
    assert oci.codes(r) == ["MANIFEST_INVALID"]
    assert client.get("/v2/team/app/manifests/v1").status_code == 404


def test_digest_mismatch_when_pushed_by_digest(client, oci):
    body = oci.image("team/app")
    r = oci.put_manifest("team/app", MISSING, body, status=400)
    assert oci.codes(r) == ["DIGEST_INVALID"]
    assert client.get(f"/v2/team/app/manifests/{digest_bytes(body)}").status_code == 404


INVALID_REFERENCES = [
    ".INVALID_MANIFEST_NAME",
    "-bad",
    "a" * 129,
    "sha256:abc",
    "md5:" + "a" * 32,
    "sha256:" + "A" * 64,
    "a:b:c",
]


@pytest.mark.parametrize("method", ["get", "head", "delete"])
@pytest.mark.parametrize("ref", INVALID_REFERENCES)
def test_a_reference_neither_tag_nor_digest_names_no_manifest(client, oci, method, ref):
    oci.push_image("team/app", "v1")
    r = getattr(client, method)(f"/v2/team/app/manifests/{ref}")
    assert r.status_code == 404
    if method != "head":
        assert oci.codes(r) == ["MANIFEST_UNKNOWN"]


@pytest.mark.parametrize(
    ("ref", "code"),
    [
        (".INVALID_MANIFEST_NAME", "MANIFEST_INVALID"),
        ("-bad", "MANIFEST_INVALID"),
        ("a" * 129, "MANIFEST_INVALID"),
        ("sha256:abc", "DIGEST_INVALID"),
        ("sha256:totallywrong", "DIGEST_INVALID"),
    ],
)
def test_pushing_to_an_invalid_reference_is_a_client_error(client, oci, ref, code):
    r = oci.put_manifest("team/app", ref, oci.image("team/app"), status=400)
    assert oci.codes(r) == [code]


def test_unknown_manifest(client, oci):
    for ref in ("nope", MISSING):
        r = client.get(f"/v2/team/app/manifests/{ref}")
        assert r.status_code == 404 and oci.codes(r) == ["MANIFEST_UNKNOWN"]


def test_delete_by_tag_keeps_the_manifest(client, oci):
    digest, _ = oci.push_image("team/app", "v1")
    assert client.delete("/v2/team/app/manifests/v1").status_code == 202
    assert client.get("/v2/team/app/manifests/v1").status_code == 404
    assert client.get(f"/v2/team/app/manifests/{digest}").status_code == 200
    r = client.delete("/v2/team/app/manifests/v1")
    assert r.status_code == 404 and oci.codes(r) == ["MANIFEST_UNKNOWN"]


def test_delete_by_digest_removes_its_tags(client, oci, sink):
    digest, body = oci.push_image("team/app", "v1")
    oci.put_manifest("team/app", "v2", body)
    assert client.delete(f"/v2/team/app/manifests/{digest}").status_code == 202
    for ref in ("v1", "v2", digest):
        assert client.get(f"/v2/team/app/manifests/{ref}").status_code == 404
    assert client.get("/v2/team/app/tags/list").get_json()["tags"] == []
    assert ("delete", "team/app", digest) in sink.actions()


def test_retag_points_at_the_new_manifest(client, oci):
    oci.push_image("team/app", "v1", layers=[b"one"])
    second, _ = oci.push_image("team/app", "v1", layers=[b"two"])
    assert client.head("/v2/team/app/manifests/v1").headers["Docker-Content-Digest"] == second


def test_artifact_with_subject(client, oci):
    subject, body = oci.push_image("team/app", "v1")
    empty = oci.push_blob("team/app", b"{}")
    artifact = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "artifactType": "application/vnd.example.sbom",
            "config": {"mediaType": mediatypes.EMPTY_JSON, "digest": empty, "size": 2},
            "layers": [],
            "subject": {"mediaType": mediatypes.OCI_MANIFEST, "digest": subject, "size": len(body)},
        }
    ).encode()
    r = oci.put_manifest("team/app", str(digest_bytes(artifact)), artifact)
    assert r.headers["OCI-Subject"] == subject


def test_push_and_pull_events(client, oci, sink):
    digest, _ = oci.push_image("team/app", "v1")
    client.get("/v2/team/app/manifests/v1")
    pushes = [e for e in sink.events if e.action == "push" and e.target.tag == "v1"]
    assert len(pushes) == 1 and pushes[0].target.digest == digest
    assert pushes[0].request.method == "PUT" and pushes[0].request.id
    pulls = [e for e in sink.events if e.action == "pull"]
    assert pulls[-1].target.digest == digest and pulls[-1].source.instance_id


def _image_doc(oci, name="team/app"):
    """An OCI image whose config and layer are pushed; the doc, and the layer's size (11)."""
    return json.loads(oci.image(name, layers=[b"eleven byte"])), 11


def _index_doc(oci, name="team/app"):
    digest, body = oci.push_image(name, "child")
    return {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_INDEX,
        "manifests": [{"mediaType": mediatypes.OCI_MANIFEST, "digest": digest, "size": len(body)}],
    }


def _set(doc, where, size):
    {
        "config": lambda: doc["config"],
        "layer": lambda: doc["layers"][0],
        "child": lambda: doc["manifests"][0],
        "subject": lambda: doc["subject"],
    }[where]()["size"] = size


@pytest.mark.parametrize(
    "size",
    [-1, 2**63, 10**400, 1.5, True, "11", None],
    ids=["negative", "2^63", "10^400", "float", "bool", "string", "null"],
)
@pytest.mark.parametrize("where", ["config", "layer", "child", "subject"])
def test_descriptor_sizes_outside_int64_are_invalid(client, oci, sink, where, size):
    doc = _index_doc(oci) if where == "child" else _image_doc(oci)[0]
    doc["subject"] = {"mediaType": mediatypes.OCI_MANIFEST, "digest": MISSING, "size": 1}
    _set(doc, where, size)
    r = oci.put_manifest("team/app", "v1", json.dumps(doc).encode(), status=400)
    assert oci.codes(r) == ["MANIFEST_INVALID"]
    assert client.get("/v2/team/app/manifests/v1").status_code == 404
    assert not [e for e in sink.events if e.action == "push" and e.target.tag == "v1"]


@pytest.mark.parametrize(
    ("where", "wrong"),
    [
        ("config", 999),
        ("layer", 999),
        ("layer", 0),
        ("child", 1),
        ("subject", 7),
    ],
)
def test_declared_sizes_must_be_the_sizes_of_the_content_held(client, oci, sink, where, wrong):
    if where == "child":
        doc = _index_doc(oci)
    else:
        doc, _ = _image_doc(oci)
        subject, body = oci.push_image("team/app", "subject")
        doc["subject"] = {
            "mediaType": mediatypes.OCI_MANIFEST,
            "digest": subject,
            "size": len(body),
        }
    good = json.dumps(doc).encode()
    _set(doc, where, wrong)
    r = oci.put_manifest("team/app", "v1", json.dumps(doc).encode(), status=400)
    assert oci.codes(r) == ["MANIFEST_INVALID"]
    assert r.get_json()["errors"][0]["detail"]["size"] == wrong
    assert client.get("/v2/team/app/manifests/v1").status_code == 404
    assert not [e for e in sink.events if e.action == "push" and e.target.tag == "v1"]
    oci.put_manifest("team/app", "v1", good)
    pushed = [e for e in sink.events if e.action == "push" and e.target.tag == "v1"]
    declared = doc.get("manifests") or [doc["config"], *doc["layers"]]
    assert [d.size for d in pushed[0].target.references] == [
        client.head(
            f"/v2/team/app/{'manifests' if where == 'child' else 'blobs'}/{d['digest']}"
        ).content_length
        for d in declared
    ]


def test_an_index_push_event_carries_each_manifests_platform(oci, sink):
    doc = _index_doc(oci)
    child = doc["manifests"][0]
    doc["manifests"] = [
        {**child, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {**child, "platform": {"architecture": "amd64", "os": "linux", "os.version": "1"}},
        child,
    ]
    oci.put_manifest("team/app", "multi", json.dumps(doc).encode())
    (pushed,) = [e for e in sink.events if e.action == "push" and e.target.tag == "multi"]
    assert [r.platform for r in pushed.target.references] == [
        Platform("linux", "arm64", "v8"),
        Platform("linux", "amd64"),
        None,
    ]


def test_every_wrong_size_is_one_error_and_missing_blobs_come_first(client, oci):
    doc, size = _image_doc(oci)
    doc["config"]["size"] += 1
    doc["layers"][0]["size"] = size + 1
    r = oci.put_manifest("team/app", "v1", json.dumps(doc).encode(), status=400)
    assert [e["detail"]["digest"] for e in r.get_json()["errors"]] == [
        doc["config"]["digest"],
        doc["layers"][0]["digest"],
    ]
    doc["layers"].append({"mediaType": mediatypes.OCI_LAYER_GZIP, "digest": MISSING, "size": 3})
    r = oci.put_manifest("team/app", "v1", json.dumps(doc).encode(), status=404)
    assert oci.codes(r) == ["MANIFEST_BLOB_UNKNOWN"]


def test_sizes_of_content_the_repository_does_not_hold_are_taken_as_declared(client, oci):
    doc, _ = _image_doc(oci)
    elsewhere = oci.push_blob("team/other", b"held by another repository")
    doc["layers"].append(
        {
            "mediaType": mediatypes.OCI_LAYER_NONDISTRIBUTABLE_GZIP,
            "digest": elsewhere,
            "size": 1,
            "urls": ["https://example.com/l"],
        }
    )
    doc["subject"] = {"mediaType": mediatypes.OCI_MANIFEST, "digest": MISSING, "size": 5}
    oci.put_manifest("team/app", "v1", json.dumps(doc).encode())
    linked = oci.push_blob("team/app", b"held by this one")
    doc["layers"][-1]["digest"] = linked
    r = oci.put_manifest("team/app", "v2", json.dumps(doc).encode(), status=400)
    assert r.get_json()["errors"][0]["detail"] == {"digest": linked, "size": 1}
