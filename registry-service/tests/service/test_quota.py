"""Storage quotas at the registry (api/quota.py): tokens whose policy carries a namespace's
limit and use; uploads, mounts and manifest PUTs at and over the edge.

Tokens are minted as in test_token_auth.py (the fake Index's issuer, the registry checking
them against its published keys), with a ``wharf`` policy claim.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import responses
from fake_index import CREDENTIAL, NAME, REALM, URL, FakeIndex, scopes
from wharf_protocol.digests import digest_bytes
from wharf_protocol.policy import NamespaceQuota, Policy
from wharf_registry.settings import Settings

PUSH = ("repository:team/app:pull,push", "repository:team/tool:pull,push")
CONFIG = b'{"architecture":"amd64","os":"linux"}'


@pytest.fixture
def settings():
    return Settings(
        storage_driver="filesystem",
        auth="token",
        index_url=URL,
        index_name=NAME,
        index_credential=CREDENTIAL,
        token_realm=REALM,
        notifications_enabled=False,
    )


@pytest.fixture
def index():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeIndex(rsps)


@pytest.fixture
def app(make_client, settings, driver, sink, index):
    return make_client(settings, driver=driver, sink=sink, index=index.client()).application


@pytest.fixture
def pusher(app, oci, index):
    """pusher(limit, used, *scopes, namespace="team") -> an OCI helper whose every request
    carries a new token granting ``scopes`` (default PUSH) with that quota."""

    def make(limit: int | None, used: int = 0, *granted: str, namespace: str = "team"):
        quotas = {} if limit is None else {namespace: NamespaceQuota(limit, used)}
        token, _ = index.issuer.issue(
            "alice", NAME, scopes(*(granted or PUSH)), 300, policy=Policy(quotas=quotas)
        )
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return type(oci)(client)

    return make


def denied(response, message: str) -> None:
    assert response.status_code == 403, response.get_data(as_text=True)
    [error] = response.get_json()["errors"]
    assert error["code"] == "DENIED" and error["message"] == message


def finish(oci, name: str, data: bytes):
    """Start an upload, send ``data`` in a PATCH, complete it with an empty PUT."""
    location = oci.start(name)
    patched = oci.client.patch(location, data=data)
    assert patched.status_code == 202
    digest = digest_bytes(data)
    return oci.client.put(f"{patched.headers['Location']}?digest={digest}")


def test_an_upload_that_reaches_the_limit_exactly_is_accepted(pusher):
    oci = pusher(1000, 900)
    response = finish(oci, "team/app", b"x" * 100)
    assert response.status_code == 201


def test_an_upload_one_byte_over_is_refused_and_its_session_deleted(pusher):
    oci = pusher(10 << 30, (10 << 30) - 100)
    before = oci.stored_blobs()
    response = finish(oci, "team/app", b"x" * 101)
    denied(response, "quota exceeded: 10.1 GiB of 10 GiB used")  # rounded up, never "10 of 10"
    detail = response.get_json()["errors"][0]["detail"]
    assert detail == {"namespace": "team", "limit": 10 << 30, "used": (10 << 30) - 100, "size": 101}
    assert oci.uploads("team/app") == []  # nothing half-written
    assert oci.stored_blobs() == before
    assert oci.client.head(f"/v2/team/app/blobs/{digest_bytes(b'x' * 101)}").status_code == 404


def test_the_message_is_the_one_docker_and_skopeo_show(pusher):
    gib = 1 << 30
    oci = pusher(10 * gib, 10 * gib)
    response = finish(oci, "team/app", b"x" * int(0.2 * gib / 1024))  # a few hundred KiB
    denied(response, "quota exceeded: 10.1 GiB of 10 GiB used")
    oci = pusher(10 * gib, int(10.15 * gib))
    denied(finish(oci, "team/app", b"y"), "quota exceeded: 10.2 GiB of 10 GiB used")


def test_a_monolithic_upload_over_the_limit_is_refused(pusher):
    oci = pusher(100, 0)
    data = b"z" * 101
    response = oci.client.post(
        f"/v2/team/app/blobs/uploads/?digest={digest_bytes(data)}", data=data
    )
    denied(response, "quota exceeded: 101 B of 100 B used")
    assert oci.stored_blobs() == [] and oci.uploads("team/app") == []
    ok = oci.client.post(f"/v2/team/app/blobs/uploads/?digest={digest_bytes(b'z')}", data=b"z")
    assert ok.status_code == 201


def test_one_token_cannot_pass_the_limit_with_many_blobs(pusher):
    oci = pusher(250, 0)
    assert finish(oci, "team/app", b"a" * 100).status_code == 201
    assert finish(oci, "team/tool", b"b" * 100).status_code == 201  # same namespace
    denied(finish(oci, "team/app", b"c" * 100), "quota exceeded: 300 B of 250 B used")
    assert finish(oci, "team/app", b"d" * 50).status_code == 201  # exactly 250
    fresh = pusher(250, 0)  # another token: its own count (the Index's use is what binds)
    assert finish(fresh, "team/app", b"e" * 100).status_code == 201


def test_tokens_without_a_quota_and_other_namespaces_are_not_checked(pusher):
    assert finish(pusher(None), "team/app", b"x" * 5000).status_code == 201
    other = pusher(10, 0, "repository:team/app:pull,push", namespace="elsewhere")
    assert finish(other, "team/app", b"y" * 5000).status_code == 201


def test_a_manifest_put_at_the_limit_is_accepted_and_over_it_refused(pusher):
    roomy = pusher(1 << 20, 0)
    body = roomy.image("team/app", layers=(b"layer",), config=CONFIG)
    exact = len(CONFIG) + len(b"layer") + len(body)
    # A new token whose use counts the blobs (their events reached the Index): the manifest
    # adds its own bytes only.
    at_edge = pusher(exact, exact - len(body))
    at_edge.put_manifest("team/app", "v1", body)
    over = pusher(exact, exact - len(body) + 1)
    other = json.loads(body)
    other["annotations"] = {"a": "b"}
    refused = over.client.put(
        "/v2/team/app/manifests/v2",
        data=json.dumps(other).encode(),
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert refused.status_code == 403 and refused.get_json()["errors"][0]["code"] == "DENIED"
    assert over.client.get("/v2/team/app/manifests/v2").status_code == 404  # nothing written


def test_a_manifest_already_held_adds_nothing_and_is_never_refused(pusher):
    roomy = pusher(1 << 20, 0)
    body = roomy.image("team/app", config=CONFIG)
    digest = roomy.put_manifest("team/app", "v1", body).headers["Docker-Content-Digest"]
    full = pusher(10, 500)  # far over the limit already
    full.put_manifest("team/app", "stable", body)  # a new tag for what is there
    assert full.client.get("/v2/team/app/manifests/stable").headers["Docker-Content-Digest"] == (
        digest
    )
    other = body.replace(b'"schemaVersion"', b'"annotations":{},"schemaVersion"')
    refused = full.client.put(
        "/v2/team/app/manifests/other",
        data=other,
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    denied(refused, f"quota exceeded: {500 + len(other)} B of 10 B used")


def test_a_mount_from_another_namespace_counts_one_from_the_same_does_not(pusher):
    granted = (*PUSH, "repository:base/img:pull")
    source = pusher(None, 0, "repository:base/img:pull,push")
    blob = source.push_blob("base/img", b"q" * 300)
    mine = pusher(None, 0, *granted)
    mine.push_blob("team/tool", b"r" * 300)
    full = pusher(200, 0, *granted)
    foreign = full.client.post(f"/v2/team/app/blobs/uploads/?mount={blob}&from=base/img")
    denied(foreign, "quota exceeded: 300 B of 200 B used")
    assert full.client.head(f"/v2/team/app/blobs/{blob}").status_code == 404
    own = digest_bytes(b"r" * 300)
    same = full.client.post(f"/v2/team/app/blobs/uploads/?mount={own}&from=team/tool")
    assert same.status_code == 201


def test_a_refusal_is_counted_in_the_metrics(pusher, app):
    from test_metrics import scrape, value

    name = "wharf_registry_quota_refusals_total"
    before = value(scrape(app.test_client()), name)
    denied(finish(pusher(100, 100), "team/app", b"y"), "quota exceeded: 101 B of 100 B used")
    assert finish(pusher(100, 0), "team/app", b"z").status_code == 201
    assert value(scrape(app.test_client()), name) - before == 1


def test_a_refusal_is_recorded_for_the_index_audit_log(
    make_client, settings, driver, sink, index, oci
):
    recording = dataclasses.replace(settings, notifications_enabled=True)
    app = make_client(recording, driver=driver, sink=sink, index=index.client()).application
    token, _ = index.issuer.issue(
        "alice", NAME, scopes(*PUSH), 300, policy=Policy(quotas={"team": NamespaceQuota(10, 10)})
    )
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    denied(finish(type(oci)(client), "team/app", b"x"), "quota exceeded: 11 B of 10 B used")
    [event] = [e for e in sink.events if e.action == "wharf.quota_refused"]
    assert event.target.repository == "team/app"
    assert event.target.message == "quota exceeded: 11 B of 10 B used"
    assert event.actor.name == "alice"
