"""Bad names (``NAME_INVALID``), unknown routes and methods, request ids."""

import pytest


@pytest.mark.parametrize(
    "path",
    [
        "/v2/Team/app/tags/list",
        "/v2/team/../app/tags/list",
        "/v2/team//app/tags/list",
        "/v2/" + "a" * 256 + "/tags/list",
        "/v2/team%2Fapp/tags/list",
        "/v2/team%2fapp/blobs/uploads/",
        "/v2/-team/manifests/latest",
    ],
)
def test_invalid_names(client, oci, path):
    method = client.post if path.endswith("/uploads/") else client.get
    r = method(path)
    assert r.status_code == 400 and oci.codes(r) == ["NAME_INVALID"]
    assert oci.stored_blobs() == [] and client.get("/v2/_catalog").get_json()["repositories"] == []


def test_name_of_maximum_length_is_fine(client, oci):
    name = "/".join(["a" * 63] * 4)
    assert len(name) == 255
    oci.push_blob(name, b"x")
    assert client.get("/v2/_catalog").get_json()["repositories"] == [name]


def test_unknown_route_under_v2(client, oci):
    r = client.get("/v2/team/app/nothing-here")
    assert r.status_code == 404 and oci.codes(r) == ["NAME_UNKNOWN"]
    assert r.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_method_not_allowed(client, oci):
    r = client.post("/v2/team/app/tags/list")
    assert r.status_code == 405 and oci.codes(r) == ["UNSUPPORTED"]


def test_request_id_generated_when_absent_or_unsafe(client):
    r = client.get("/v2/", headers={"X-Request-ID": "bad id <script>"})
    assert len(r.headers["X-Request-ID"]) == 32 and " " not in r.headers["X-Request-ID"]
    assert len(client.get("/v2/").headers["X-Request-ID"]) == 32


def test_unexpected_errors_are_500_without_internals(app, client, oci, monkeypatch, caplog):
    content = app.extensions["registry"].content

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(content.tags, "page", boom)
    oci.push_blob("team/app", b"x")
    r = client.get("/v2/team/app/tags/list", headers={"X-Request-ID": "req-42"})
    assert r.status_code == 500 and oci.codes(r) == ["UNKNOWN"]
    assert b"secret" not in r.data
    assert any("secret internals" in (rec.exc_text or "") or rec.exc_info for rec in caplog.records)
