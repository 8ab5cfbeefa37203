"""Media types (OCI image spec "Media Types"; Docker image manifest v2 schema 2)."""

import base64
import json

import pytest
from wharf_protocol import mediatypes as mt
from wharf_protocol.digests import digest_bytes


def test_manifest_and_index_groups():
    assert {mt.OCI_MANIFEST, mt.DOCKER_MANIFEST} == mt.MANIFEST_TYPES
    assert {mt.OCI_INDEX, mt.DOCKER_MANIFEST_LIST} == mt.INDEX_TYPES
    assert not mt.MANIFEST_TYPES & mt.INDEX_TYPES


@pytest.mark.parametrize(
    ("value", "manifest", "index"),
    [
        ("application/vnd.oci.image.manifest.v1+json", True, False),
        ("Application/VND.docker.distribution.manifest.v2+json; charset=utf-8", True, False),
        ("application/vnd.oci.image.index.v1+json", False, True),
        (mt.DOCKER_MANIFEST_LIST, False, True),
        (mt.DOCKER_MANIFEST_V1_SIGNED, False, False),
        ("", False, False),
    ],
)
def test_classification(value, manifest, index):
    assert mt.is_manifest(value) is manifest
    assert mt.is_index(value) is index


def test_empty_descriptor_matches_its_content():
    data = base64.b64decode(mt.EMPTY_DESCRIPTOR["data"])
    assert json.loads(data) == {}
    assert str(digest_bytes(data)) == mt.EMPTY_JSON_DIGEST == mt.EMPTY_DESCRIPTOR["digest"]
    assert mt.EMPTY_DESCRIPTOR["size"] == len(data)
    with pytest.raises(TypeError):
        mt.EMPTY_DESCRIPTOR["size"] = 3


def test_constants_are_exported():
    for name in mt.__all__:
        assert getattr(mt, name) is not None
