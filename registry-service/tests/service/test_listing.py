"""end-8a/8b tags list, ``_catalog``, end-12a/12b referrers."""

import json

import pytest
from wharf_protocol import mediatypes
from wharf_protocol.digests import digest_bytes


@pytest.fixture
def tagged(oci):
    _, body = oci.push_image("team/app", "a")
    for tag in ("b", "c", "d", "e"):
        oci.put_manifest("team/app", tag, body)


def test_tags_pagination_with_link(client, tagged):
    r = client.get("/v2/team/app/tags/list?n=2")
    assert r.get_json() == {"name": "team/app", "tags": ["a", "b"]}
    assert r.headers["Link"] == '</v2/team/app/tags/list?last=b&n=2>; rel="next"'
    r = client.get("/v2/team/app/tags/list?n=2&last=b")
    assert r.get_json()["tags"] == ["c", "d"]
    r = client.get("/v2/team/app/tags/list?n=2&last=d")
    assert r.get_json()["tags"] == ["e"] and "Link" not in r.headers
    assert client.get("/v2/team/app/tags/list?n=0").get_json()["tags"] == []


@pytest.mark.parametrize("query", ["n=-1", "n=abc", "last=..bad"])
def test_bad_pagination(client, oci, tagged, query):
    r = client.get(f"/v2/team/app/tags/list?{query}")
    assert r.status_code == 400 and oci.codes(r) == ["PAGINATION_NUMBER_INVALID"]


def test_tags_of_unknown_repository(client, oci):
    r = client.get("/v2/team/nothing/tags/list")
    assert r.status_code == 404 and oci.codes(r) == ["NAME_UNKNOWN"]


def test_catalog_order_and_pagination(client, oci):
    for name in ("n/b", "n/a/x", "n/a", "n/a-c", "n/a/x/y"):
        oci.push_blob(name, b"x")
    r = client.get("/v2/_catalog")
    assert r.get_json()["repositories"] == ["n/a", "n/a/x", "n/a/x/y", "n/a-c", "n/b"]
    r = client.get("/v2/_catalog?n=2")
    assert r.get_json()["repositories"] == ["n/a", "n/a/x"]
    assert r.headers["Link"] == '</v2/_catalog?last=n%2Fa%2Fx&n=2>; rel="next"'
    r = client.get("/v2/_catalog?n=2&last=n/a/x")
    assert r.get_json()["repositories"] == ["n/a/x/y", "n/a-c"]
    r = client.get("/v2/_catalog?n=2&last=n/a-c")
    assert r.get_json()["repositories"] == ["n/b"] and "Link" not in r.headers


def test_one_part_names_are_library_names(client, oci):
    oci.push_image("app", "v1")
    assert client.get("/v2/_catalog").get_json() == {"repositories": ["library/app"]}
    for name in ("app", "library/app"):
        assert client.get(f"/v2/{name}/manifests/v1").status_code == 200
        assert client.get(f"/v2/{name}/tags/list").get_json() == {
            "name": "library/app",
            "tags": ["v1"],
        }


def test_catalog_of_empty_registry(client):
    assert client.get("/v2/_catalog").get_json() == {"repositories": []}


def _artifact(oci, name, subject, artifact_type, subject_size=1):
    empty = oci.push_blob(name, b"{}")
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": mediatypes.EMPTY_JSON, "digest": empty, "size": 2},
            "layers": [],
            "annotations": {"org.example": artifact_type},
            "subject": {
                "mediaType": mediatypes.OCI_MANIFEST,
                "digest": subject,
                "size": subject_size,
            },
        }
    ).encode()
    digest = str(digest_bytes(body))
    oci.put_manifest(name, digest, body)
    return digest, len(body)


def test_referrers_listing_and_filter(client, oci):
    subject, body = oci.push_image("team/app", "v1")
    sbom, size = _artifact(oci, "team/app", subject, "application/vnd.example.sbom", len(body))
    sig, _ = _artifact(oci, "team/app", subject, "application/vnd.example.sig", len(body))
    r = client.get(f"/v2/team/app/referrers/{subject}")
    assert r.status_code == 200 and r.headers["Content-Type"] == mediatypes.OCI_INDEX
    index = r.get_json()
    assert index["schemaVersion"] == 2 and index["mediaType"] == mediatypes.OCI_INDEX
    assert sorted(m["digest"] for m in index["manifests"]) == sorted([sbom, sig])
    assert {
        "mediaType": mediatypes.OCI_MANIFEST,
        "digest": sbom,
        "size": size,
        "artifactType": "application/vnd.example.sbom",
        "annotations": {"org.example": "application/vnd.example.sbom"},
    } in index["manifests"]
    assert "OCI-Filters-Applied" not in r.headers
    r = client.get(f"/v2/team/app/referrers/{subject}?artifactType=application/vnd.example.sig")
    assert r.headers["OCI-Filters-Applied"] == "artifactType"
    assert [m["digest"] for m in r.get_json()["manifests"]] == [sig]
    client.delete(f"/v2/team/app/manifests/{sig}")
    r = client.get(f"/v2/team/app/referrers/{subject}")
    assert [m["digest"] for m in r.get_json()["manifests"]] == [sbom]


def test_referrers_of_unknown_subject_is_empty(client, oci):
    oci.push_image("team/app", "v1")
    r = client.get("/v2/team/app/referrers/sha256:" + "c" * 64)
    assert r.status_code == 200 and r.get_json()["manifests"] == []


def test_referrers_in_a_repository_that_does_not_exist_are_an_empty_index(client):
    for query in ("", "?artifactType=application/vnd.example.sbom"):
        r = client.get(f"/v2/team/none/referrers/sha256:{'c' * 64}{query}")
        assert r.status_code == 200 and r.headers["Content-Type"] == mediatypes.OCI_INDEX
        assert r.get_json() == {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_INDEX,
            "manifests": [],
        }


def test_referrers_errors(client, oci):
    for name in ("team/app", "team/none"):
        r = client.get(f"/v2/{name}/referrers/sha256:bad")
        assert r.status_code == 400 and oci.codes(r) == ["DIGEST_INVALID"]
