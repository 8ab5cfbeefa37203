"""The whole stack over HTTPS, verified end to end against a private test CA.

skopeo (``--tls-verify=true --cert-dir``) logs in to the registry, whose Bearer challenge
sends it to the Index's token endpoint over HTTPS; it pushes and pulls through the registry;
the registry verifies each token with the Index and delivers its events over HTTPS
(REGISTRY_INDEX_TLS_CA), so the Index records the tag. A second stack requires client
certificates at both services: a client without one is refused at the handshake, with one
it is served, and the registry presents its own to the Index
(REGISTRY_INDEX_TLS_CERTIFICATE/_KEY).
"""

from __future__ import annotations

import os

import pytest
import requests
from oci_client import Image
from stack import wait_for


@pytest.fixture(scope="module")
def tls_stack(make_stack):
    stack = make_stack(tls=True).bootstrap()
    stack.add_registry("reg1", "registry", ["alice", "bob"])
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def mtls_stack(make_stack):
    stack = make_stack(client_certs=True).bootstrap()
    stack.add_registry("reg1", "registry", ["alice"])
    yield stack
    stack.close()


def _push_and_pull(stack, label: str) -> Image:
    alice = stack.login("alice")
    registry = stack.registries["reg1"]
    assert registry.url.startswith("https://") and stack.index.url.startswith("https://")
    image = Image.random(layers=2, label=label)
    layout = image.write_layout(os.path.join(stack.workdir, f"layout-{label}"), "1")
    alice.copy(layout, f"docker://{registry.address}/alice/app:1", check=True)
    pulled = os.path.join(stack.workdir, f"pulled-{label}")
    alice.copy(f"docker://{registry.address}/alice/app:1", f"oci:{pulled}:1", check=True)
    with open(os.path.join(pulled, "index.json"), encoding="utf-8") as fh:
        assert image.digest in fh.read()

    def recorded():
        response = stack.api("GET", "/api/v1/repositories/alice/app/-/tags/1", "alice")
        return response.json() if response.status_code == 200 else None

    detail = wait_for(recorded, timeout=30, message="the Index to record alice/app:1 (events)")
    assert detail["digest"] == image.digest
    return image


def test_push_and_pull_over_verified_https_end_to_end(tls_stack):
    _push_and_pull(tls_stack, "tls")
    # Plain HTTP is not served on the TLS ports, and the Index's realm is https.
    registry = tls_stack.registries["reg1"]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{registry.address}/v2/", timeout=10)
    challenge = requests.get(f"{registry.url}/v2/", timeout=10, verify=tls_stack.tls.ca)
    assert challenge.status_code == 401
    assert f'realm="{tls_stack.index.url}/v2/token"' in challenge.headers["WWW-Authenticate"]
    assert challenge.headers["WWW-Authenticate"].startswith('Bearer realm="https://')


def test_skopeo_without_the_ca_is_refused(tls_stack):
    """Verification is on: a skopeo that does not trust the test CA cannot log in."""
    skopeo = tls_stack.skopeo("untrusting")
    os.remove(os.path.join(skopeo.cert_dir, "ca.crt"))
    result = skopeo.login(tls_stack.registries["reg1"].address, "alice", "x", check=False)
    assert result.returncode != 0
    assert "certificate" in (result.stderr + result.stdout).lower()


def test_client_certificates_required_refuse_clients_without_one(mtls_stack):
    stack = mtls_stack
    tls = stack.tls
    for url in (f"{stack.index.url}/healthz", f"{stack.registries['reg1'].url}/v2/"):
        with pytest.raises(requests.ConnectionError):  # refused during the handshake
            requests.get(url, timeout=10, **tls.requests_kwargs(client_cert=False))
        response = requests.get(url, timeout=10, **tls.requests_kwargs())
        assert response.status_code in (200, 401), (url, response.status_code)
    # skopeo presents client.cert from its --cert-dir; the registry its own to the Index.
    _push_and_pull(stack, "mtls")
