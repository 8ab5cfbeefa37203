"""Manifest parsing (content/validation.py)."""

import json

import pytest
from wharf_protocol import mediatypes
from wharf_registry.content.errors import ManifestInvalid
from wharf_registry.content.validation import parse_manifest

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def manifest(**extra):
    doc = {
        "schemaVersion": 2,
        "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": D1, "size": 1},
        "layers": [{"mediaType": mediatypes.OCI_LAYER_GZIP, "digest": D2, "size": 2}],
    }
    doc.update(extra)
    return json.dumps(doc).encode()


def test_oci_manifest_without_media_type_is_typed_by_content_type():
    parsed = parse_manifest(manifest(), mediatypes.OCI_MANIFEST + "; charset=utf-8")
    assert parsed.media_type == mediatypes.OCI_MANIFEST
    assert [str(d) for d in parsed.blobs] == [D1, D2]
    assert parsed.artifact_type == mediatypes.OCI_CONFIG and parsed.subject is None


def test_index_children_and_subject():
    doc = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_INDEX,
            "artifactType": "x/y",
            "manifests": [{"mediaType": mediatypes.OCI_MANIFEST, "digest": D1, "size": 3}],
            "subject": {"mediaType": mediatypes.OCI_MANIFEST, "digest": D2, "size": 3},
        }
    ).encode()
    parsed = parse_manifest(doc, None)
    assert parsed.is_index and [str(d) for d in parsed.children] == [D1]
    assert str(parsed.subject) == D2 and parsed.artifact_type == "x/y"


def test_foreign_layers_with_urls_are_not_required():
    layer = {
        "mediaType": mediatypes.DOCKER_FOREIGN_LAYER,
        "digest": D2,
        "size": 2,
        "urls": ["https://example.com/layer"],
    }
    parsed = parse_manifest(
        manifest(mediaType=mediatypes.DOCKER_MANIFEST, layers=[layer]), mediatypes.DOCKER_MANIFEST
    )
    assert [str(d) for d in parsed.blobs] == [D1]


@pytest.mark.parametrize(
    "doc",
    [
        manifest(schemaVersion=1),
        manifest(layers="nope"),
        manifest(config=None),
        manifest(layers=[{"digest": D2, "size": 1}]),
        manifest(layers=[{"mediaType": "x", "digest": D2, "size": -1}]),
        manifest(annotations={"a": 1}),
        manifest(manifests=[]),
        manifest(mediaType=7),
        b"\xff\xfe",
        b"null",
        manifest(deep=json.loads("[" * 100 + "]" * 100)),
    ],
)
def test_invalid(doc):
    with pytest.raises(ManifestInvalid):
        parse_manifest(doc, mediatypes.OCI_MANIFEST)


def test_content_type_must_agree_with_media_type():
    with pytest.raises(ManifestInvalid, match="contradicts"):
        parse_manifest(manifest(mediaType=mediatypes.OCI_MANIFEST), mediatypes.DOCKER_MANIFEST)
