"""storage.delete.enabled false (REGISTRY_STORAGE_DELETE_ENABLED): DELETE answers 405 UNSUPPORTED.

The reference registry refuses manifest and blob deletes with 405 ``UNSUPPORTED`` unless
deletes are enabled; Wharf enables them by default and refuses them the same way when disabled.
Reads, pushes and cancelling an upload are unaffected.
"""

import pytest
from wharf_registry.settings import Settings


@pytest.fixture
def settings() -> Settings:
    """The ``app``/``oci`` fixtures' settings: parsed from the variable, deletes disabled."""
    parsed = Settings.from_env({"REGISTRY_STORAGE_DELETE_ENABLED": "false"})
    assert parsed.delete_enabled is False
    return parsed


@pytest.mark.parametrize(
    "path",
    [
        "/v2/team/app/manifests/v1",  # a tag
        "/v2/team/app/manifests/{digest}",  # a manifest by digest
        "/v2/team/app/blobs/{layer}",  # a blob
        "/v2/_wharf/repositories/team/app",  # the whole repository
    ],
)
def test_delete_is_405_unsupported_and_nothing_is_deleted(oci, path):
    digest, body = oci.push_image("team/app", "v1", layers=[b"only layer"])
    layer = oci.push_blob("team/app", b"only layer")

    r = oci.client.delete(path.format(digest=digest, layer=layer))

    assert r.status_code == 405
    assert oci.codes(r) == ["UNSUPPORTED"]
    assert oci.client.get("/v2/team/app/manifests/v1").get_data() == body
    assert oci.client.get(f"/v2/team/app/manifests/{digest}").status_code == 200
    assert oci.client.get(f"/v2/team/app/blobs/{layer}").status_code == 200
    assert oci.client.get("/v2/team/app/tags/list").get_json()["tags"] == ["v1"]


def test_upload_cancel_still_works(oci):
    location = oci.start("team/app")
    assert oci.client.delete(location).status_code == 204


def test_deletes_are_enabled_by_default(make_client, fs_driver):
    client = make_client(Settings.from_env({}), driver=fs_driver)
    assert client.delete("/v2/team/app/manifests/v1").status_code == 404  # not 405: allowed
