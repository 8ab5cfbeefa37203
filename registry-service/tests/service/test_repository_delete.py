"""Wharf's repository delete: DELETE /v2/_wharf/repositories/<name> (scenario C)."""

from __future__ import annotations

import json

import pytest
from wharf_protocol import mediatypes
from wharf_protocol.events import dump_envelope
from wharf_registry.settings import Settings
from wharf_registry.storage import PathNotFound

REPOS = "/docker/registry/v2/repositories"


def files_of(driver, name: str) -> list[str]:
    """Return the files of repository ``name`` itself (not of repositories nested in it)."""
    try:
        found = [f.path for f in driver.walk(f"{REPOS}/{name}")]
    except PathNotFound:
        return []
    return [p for p in found if p[len(REPOS) + len(name) + 2 :].startswith("_")]


@pytest.fixture
def populated(oci, client, driver):
    """team/app (2 tags, a referrer, an open upload), team/app/sub and other/app."""
    digest, body = oci.push_image("team/app", "v1", layers=[b"shared", b"own"])
    oci.push_image("team/app", "v2", layers=[b"v2"])
    referrer = oci.image(
        "team/app",
        layers=[b"sig"],
        config_type="application/vnd.test+json",
        subject={"mediaType": mediatypes.OCI_MANIFEST, "digest": digest, "size": len(body)},
    )
    oci.put_manifest("team/app", "sig", referrer)
    upload = oci.start("team/app")
    client.patch(upload, data=b"partial")
    oci.push_image("team/app/sub", "v1")
    oci.push_image("other/app", "v1", layers=[b"shared"])
    return digest


def test_everything_of_the_repository_goes_but_blobs_and_other_repositories(
    client, oci, driver, sink, populated
):
    blobs_before = oci.stored_blobs()
    assert files_of(driver, "team/app")
    r = client.delete("/v2/_wharf/repositories/team/app")
    assert r.status_code == 202 and r.get_data() == b""
    assert files_of(driver, "team/app") == []
    assert oci.codes(client.get("/v2/team/app/tags/list")) == ["NAME_UNKNOWN"]
    assert client.get("/v2/team/app/manifests/v1").status_code == 404
    assert client.get(f"/v2/team/app/manifests/{populated}").status_code == 404
    referrers = client.get(f"/v2/team/app/referrers/{populated}")
    assert referrers.status_code == 200 and referrers.get_json()["manifests"] == []
    assert oci.uploads("team/app") == []
    assert oci.stored_blobs() == blobs_before  # left to garbage collection
    for name in ("team/app/sub", "other/app"):
        assert client.get(f"/v2/{name}/manifests/v1").status_code == 200
    assert client.get("/v2/_catalog").get_json() == {"repositories": ["other/app", "team/app/sub"]}
    [event] = [e for e in sink.events if e.action == "delete"]
    assert (event.action, event.target.repository) == ("delete", "team/app")
    assert (event.target.digest, event.target.tag, event.target.size) == ("", "", None)


def test_deleting_again_or_a_missing_repository_is_202_with_the_event_again(
    client, sink, populated
):
    for name in ("team/app", "team/app", "never/existed"):
        assert client.delete(f"/v2/_wharf/repositories/{name}").status_code == 202
    assert [(e.action, e.target.repository) for e in sink.events[-3:]] == [
        ("delete", "team/app"),
        ("delete", "team/app"),
        ("delete", "never/existed"),
    ]


def test_the_delete_event_has_only_the_repository_on_the_wire(client, sink):
    client.delete("/v2/_wharf/repositories/team/app")
    doc = dump_envelope(sink.events)["events"][0]
    assert doc["action"] == "delete" and doc["target"] == {"repository": "team/app"}
    assert json.loads(json.dumps(doc))["target"] == {"repository": "team/app"}


@pytest.mark.parametrize("path", ["Team/App", "team//app", "team/app/", "_x/y", "a%2Fb"])
def test_bad_names_are_name_invalid(client, oci, sink, path):
    r = client.delete(f"/v2/_wharf/repositories/{path}")
    assert r.status_code == 400 and oci.codes(r) == ["NAME_INVALID"]
    assert sink.events == []


def test_read_only_mode_refuses_it(make_client, fs_driver):
    client = make_client(Settings(storage_driver="filesystem", read_only=True), driver=fs_driver)
    r = client.delete("/v2/_wharf/repositories/team/app")
    assert r.status_code == 405
