"""The Index as the token server of the reference registry (CNCF Distribution 2.8).

A stock ``docker-registry`` (Debian's build of Distribution) is configured the way its
documentation says for token authentication: ``auth.token.realm`` = the Index's
``/v2/token``, ``service`` = the name the registry is registered under at the Index,
``issuer`` = ``INDEX_TOKEN_ISSUER``, ``rootcertbundle`` = the file fetched from the Index's
``/.well-known/token-certs.pem``. skopeo, as alice, pushes and pulls back; a private
repository is refused to bob and to anonymous callers; a public one is pulled anonymously;
the catalog, which this registry does not filter, is listed to administrators only.
After ``wharf-index keys rotate`` the registry, still holding the old bundle, refuses the
new tokens until the bundle is fetched again and the registry restarted (it reads the file
once, at start).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import jwt
import pytest
import requests
from oci_client import Image
from stack import PASSWORDS, Stack, wait_for
from wharf_testing.distribution import DistributionRegistry

SERVICE = "refreg"  # the registry's name at the Index = Distribution's auth.token.service
PRIVATE, PUBLIC = "alice/app", "alice/pub"


def _fetch_bundle(stack: Stack, path: str) -> bytes:
    response = requests.get(stack.index.url + "/.well-known/token-certs.pem", timeout=10)
    assert response.status_code == 200, response.text
    with open(path, "wb") as fh:
        fh.write(response.content)
    return response.content


@pytest.fixture(scope="module")
def interop(make_stack) -> Iterator[tuple[Stack, DistributionRegistry]]:
    stack = make_stack().bootstrap()
    host = stack.network["registry2"]
    port = host.port(5000)
    stack.cli(
        "registry", "add", SERVICE, "--url", f"http://{host.address}:{port}", "--kind", "sponsor"
    )
    bundle = os.path.join(stack.workdir, "token-certs.pem")
    _fetch_bundle(stack, bundle)
    registry = DistributionRegistry(
        SERVICE,
        host=host.address,
        port=port,
        prefix=host.prefix,
        token_realm=f"{stack.index.url}/v2/token",
        token_service=SERVICE,
        token_issuer=stack.index_env.get("INDEX_TOKEN_ISSUER", "wharf-index"),
        root_cert_bundle=bundle,
    )
    try:
        registry.start(timeout=60)
        yield stack, registry
    finally:
        registry.close()
        stack.close()


@pytest.fixture(scope="module")
def pushed(interop) -> dict[str, Image]:
    """alice's private and public repositories, pushed with skopeo through Distribution."""
    stack, registry = interop
    created = stack.api(
        "POST", "/api/v1/repositories", "alice", json={"name": PUBLIC, "visibility": "public"}
    )
    assert created.status_code == 201, created.text
    alice = _login(stack, registry, "alice")
    images = {}
    for name in (PRIVATE, PUBLIC):
        image = Image.random(layers=2, label=f"interop-{name}")
        layout = image.write_layout(os.path.join(stack.workdir, f"layout-{name}"), "1")
        result = alice.copy(layout, f"docker://{registry.address}/{name}:1")
        assert result.returncode == 0, result.stderr + "\n" + registry.log()[-3000:]
        images[name] = image
    return images


def _login(stack: Stack, registry: DistributionRegistry, user: str):
    client = stack.skopeo(user)
    client.login(registry.address, user, PASSWORDS[user])
    return client


def _digest(client, registry: DistributionRegistry, name: str) -> str | None:
    result = client.inspect(f"{registry.address}/{name}:1")
    return json.loads(result.stdout)["Digest"] if result.returncode == 0 else None


def test_push_then_pull_back_gives_the_same_digest(interop, pushed, tmp_path):
    stack, registry = interop
    alice = _login(stack, registry, "alice")
    image = pushed[PRIVATE]
    assert _digest(alice, registry, PRIVATE) == image.digest
    pulled = alice.copy(f"docker://{registry.address}/{PRIVATE}:1", f"oci:{tmp_path}/out:1")
    assert pulled.returncode == 0, pulled.stderr
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert [m["digest"] for m in index["manifests"]] == [image.digest]
    for digest, layer in zip(image.layer_digests, image.layers, strict=True):
        blob = tmp_path / "out" / "blobs" / "sha256" / digest.split(":", 1)[1]
        assert blob.read_bytes() == layer


def test_a_private_repository_is_refused_to_others_and_anonymous(interop, pushed):
    stack, registry = interop
    assert _digest(_login(stack, registry, "bob"), registry, PRIVATE) is None
    assert _digest(stack.skopeo("anonymous"), registry, PRIVATE) is None
    # bob may not push into alice's namespace either
    bob = _login(stack, registry, "bob")
    image = Image.random(layers=1, label="interop-stolen")
    layout = image.write_layout(os.path.join(stack.workdir, "layout-stolen"), "1")
    assert bob.copy(layout, f"docker://{registry.address}/alice/stolen:1").returncode != 0


def test_a_public_repository_is_pulled_anonymously(interop, pushed):
    stack, registry = interop
    assert _digest(stack.skopeo("anonymous"), registry, PUBLIC) == pushed[PUBLIC].digest


def test_its_catalog_lists_names_to_administrators_only(interop, pushed):
    """The reference registry lists every name to every holder of registry:catalog:*, and it
    never called the Index: the Index grants that scope for it to administrators only."""
    stack, registry = interop

    def catalog(user):
        token = stack.token(SERVICE, "registry:catalog:*", user).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        return requests.get(registry.url + "/v2/_catalog", headers=headers, timeout=10)

    for user in ("bob", "alice", None):
        listed = catalog(user)
        assert listed.status_code == 401, listed.text
        assert PRIVATE not in listed.text
    admin = catalog("sysop")
    assert admin.status_code == 200, admin.text
    assert {PRIVATE, PUBLIC} <= set(admin.json()["repositories"])


def test_after_a_key_rotation_the_registry_needs_the_refreshed_bundle(interop, pushed):
    stack, registry = interop
    rotated = stack.cli("keys", "rotate").stdout
    new_kid = rotated.split()[2]  # "signing with KID (ALG)"

    def token_kid():
        response = stack.token(SERVICE, f"repository:{PRIVATE}:pull", "alice")
        return jwt.get_unverified_header(response.json()["token"])["kid"] == new_kid

    wait_for(token_kid, timeout=30, message="the Index signing with the new key")
    # the old bundle lacks the new key: even the login's token is refused
    alice = stack.skopeo("alice-after-rotation")
    refused = alice.login(registry.address, "alice", PASSWORDS["alice"], check=False)
    assert refused.returncode != 0 and "invalid username/password" in refused.stderr
    assert _digest(alice, registry, PRIVATE) is None
    bundle = _fetch_bundle(stack, os.path.join(stack.workdir, "token-certs.pem"))
    assert bundle.count(b"BEGIN CERTIFICATE") == 2  # the old key stays published
    registry.restart(timeout=60)
    alice.login(registry.address, "alice", PASSWORDS["alice"])
    assert _digest(alice, registry, PRIVATE) == pushed[PRIVATE].digest
