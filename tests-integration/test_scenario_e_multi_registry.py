"""Scenario E: registries with your own Index (docs/architecture.md).

One Index knows three registries, each serving its namespaces: ``reg1`` (alice) on the
registry host, ``reg2`` (bob) on the registry2 host with its wall clock 50 s ahead (within
the default 60 s leeway: everything must still work), and ``reg3`` (carol, on registry2)
that verifies tokens locally with the Index's keys, restarted with various clock offsets.
The Index tells clients which registry holds a repository -- the one it was pushed to, even
when another registry declared its namespace (``reg4`` serves every namespace, ``reg5``
serves acme); a token for one registry is refused by another; tokens survive skew within
the leeway and are refused beyond it.
"""

from __future__ import annotations

import json
import os

import pytest
from oci_client import Image, OciClient
from stack import PASSWORDS, clock_prefix, wait_for

TOKEN_TTL = 60  # s; the Index's token lifetime in this module (leeway: the default 60 s)


@pytest.fixture(scope="module")
def stack(make_stack):
    stack = make_stack(index_env={"INDEX_TOKEN_TTL": str(TOKEN_TTL)})
    stack.bootstrap(users=("sysop", "alice", "bob", "carol"))
    stack.add_registry("reg1", "registry", ["alice"])
    stack.add_registry("reg2", "registry2", ["bob"], clock_offset=50)
    stack.add_registry(
        "reg3",
        "registry2",
        ["carol"],
        start=False,
        env={"REGISTRY_AUTH_TOKEN_VERIFY": "local"},  # the Index's published keys only
    )
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def pushed(stack):
    """alice/app:1 on reg1 and bob/app:1 on reg2, pushed with skopeo by their owners."""
    images = {}
    for user, registry in (("alice", "reg1"), ("bob", "reg2")):
        image = Image.random(layers=2, label=f"e-{user}")
        layout = image.write_layout(os.path.join(stack.workdir, f"e-{user}"), "1")
        client = stack.login(user, registry)
        address = stack.registries[registry].address
        client.copy(layout, f"docker://{address}/{user}/app:1", check=True)
        images[user] = image
    return images


def test_the_index_tells_which_registry_holds_a_repository(stack, pushed):
    for user, registry in (("alice", "reg1"), ("bob", "reg2")):
        response = stack.api(
            "GET", f"/v1/repositories/{user}/app/images", user, headers={"X-Docker-Token": "true"}
        )
        assert response.status_code == 200, response.text
        endpoints = [e.strip() for e in response.headers["X-Docker-Endpoints"].split(",")]
        assert endpoints == [stack.registries[registry].address]
        listed = stack.api("GET", f"/api/v1/repositories/{user}/app/-/registries", user)
        assert listed.status_code == 200, listed.text
        assert [r["name"] for r in listed.json()["items"]] == [registry]
        # The handshake token works at that registry (and the Index knows the image).
        token = response.headers["X-Docker-Token"]
        manifest = OciClient(stack.registries[registry].url, token=token).get_manifest(
            f"{user}/app", "1"
        )
        assert manifest.status_code == 200, manifest.text
        assert manifest.headers["Docker-Content-Digest"] == pushed[user].digest


@pytest.fixture(scope="module")
def acme(stack):
    """acme/z:1 pushed by alice (acme's owner) to reg4, which serves every namespace, while
    reg5 declared acme; returns the image."""
    stack.cli("org", "create", "acme", "--owner", "alice")
    stack.add_registry("reg4", "registry", [])
    stack.add_registry("reg5", "registry2", ["acme"])
    image = Image.random(layers=2, label="e-acme")
    layout = image.write_layout(os.path.join(stack.workdir, "e-acme"), "1")
    address = stack.registries["reg4"].address
    stack.login("alice", "reg4").copy(layout, f"docker://{address}/acme/z:1", check=True)
    wait_for(
        lambda: stack.tags_at_index("acme/z", "alice"),
        timeout=30,
        message="the Index to record acme/z from reg4",
    )
    return image


def test_the_index_names_the_registry_a_repository_was_pushed_to(stack, acme, tmp_path):
    response = stack.api(
        "GET", "/v1/repositories/acme/z/images", "alice", headers={"X-Docker-Token": "true"}
    )
    assert response.status_code == 200, response.text
    endpoints = [e.strip() for e in response.headers["X-Docker-Endpoints"].split(",")]
    assert endpoints == [stack.registries["reg4"].address]
    listed = stack.api("GET", "/api/v1/repositories/acme/z/-/registries", "alice")
    assert [r["name"] for r in listed.json()["items"]] == ["reg4"], listed.text
    # Pulled with skopeo from the registry named: the image, layer for layer.
    [endpoint] = endpoints
    alice = stack.login("alice", "reg4")
    info = json.loads(alice.inspect(f"{endpoint}/acme/z:1", check=True).stdout)
    assert info["Digest"] == acme.digest
    alice.copy(f"docker://{endpoint}/acme/z:1", f"oci:{tmp_path}/z:1", check=True)
    for digest, layer in zip(acme.layer_digests, acme.layers, strict=True):
        blob = tmp_path / "z" / "blobs" / "sha256" / digest.split(":", 1)[1]
        assert blob.read_bytes() == layer
    # The registry that declared acme never got it: naming it would fail the pull.
    elsewhere = stack.registries["reg5"].address
    alice.login(elsewhere, "alice", PASSWORDS["alice"])
    assert alice.inspect(f"{elsewhere}/acme/z:1").returncode != 0


def test_registry_with_clock_ahead_within_leeway_works(stack, pushed):
    """reg2 runs 50 s ahead: bob's push (fixture) worked, and pulls and the Index's
    records (from reg2's events, timestamped by its clock) work too."""
    address = stack.registries["reg2"].address
    bob = stack.login("bob", "reg2")
    info = json.loads(bob.inspect(f"{address}/bob/app:1", check=True).stdout)
    assert info["Digest"] == pushed["bob"].digest
    tags = wait_for(
        lambda: stack.tags_at_index("bob/app", "bob"),
        timeout=30,
        message="the Index to record bob/app from reg2",
    )
    assert tags["1"]["digest"] == pushed["bob"].digest


def test_a_token_for_one_registry_is_refused_by_another(stack, pushed):
    scope = "repository:bob/app:pull"
    for_reg1 = stack.token("reg1", scope, "bob")
    assert for_reg1.status_code == 200, for_reg1.text
    refused = OciClient(stack.registries["reg2"].url, token=for_reg1.json()["token"])
    response = refused.get_manifest("bob/app", "1")
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    for_reg2 = stack.token("reg2", scope, "bob")
    accepted = OciClient(stack.registries["reg2"].url, token=for_reg2.json()["token"])
    assert accepted.get_manifest("bob/app", "1").status_code == 200


def test_a_registry_does_not_take_pushes_for_namespaces_it_does_not_serve(stack, pushed):
    """alice's namespace lives on reg1: the Index grants no push on alice/... for reg2, so
    nothing of alice's can end up where the Index would never send a client."""
    client = stack.client("reg2", "alice")
    response = client.request("POST", "/v2/alice/elsewhere/blobs/uploads/")
    assert response.status_code == 401, response.text
    granted = client.last_token_response.json()
    assert granted["token"]


def _restart_reg3(stack, offset: float) -> None:
    registry = stack.registries["reg3"]
    registry.service.stop()
    registry.service.prefix = clock_prefix(registry.host, offset)
    registry.service.start(timeout=60)


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (-50, True),  # behind: nbf is 50 s in its future, within the leeway
        (100, True),  # ahead: exp (60 s) passed 40 s ago, within the leeway
        (-130, False),  # behind beyond the leeway: not yet valid
        (200, False),  # ahead beyond exp + leeway: expired
    ],
)
def test_local_verification_tolerates_skew_within_the_leeway(stack, offset, accepted):
    _restart_reg3(stack, offset)
    client = stack.client("reg3", "carol")
    response = client.request("POST", "/v2/carol/app/blobs/uploads/")
    if accepted:
        assert response.status_code == 202, response.text
    else:
        assert response.status_code == 401, response.text
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
