"""The whole stack over HTTPS, verified end to end against a private test CA.

skopeo (``--tls-verify=true --cert-dir``) logs in to the registry, whose Bearer challenge
sends it to the Index's token endpoint over HTTPS; it pushes and pulls through the registry;
the registry verifies each token with the Index and delivers its events over HTTPS
(REGISTRY_INDEX_TLS_CA), so the Index records the tag. test_tls_client_certs.py requires
client certificates too (a stack of its own: one stack per module, the hosts' ports are
fixed in the sandbox).
"""

from __future__ import annotations

import os

import pytest
import requests
from stack import push_and_pull


@pytest.fixture(scope="module")
def tls_stack(make_stack):
    stack = make_stack(tls=True).bootstrap()
    stack.add_registry("reg1", "registry", ["alice", "bob"])
    yield stack
    stack.close()


def test_push_and_pull_over_verified_https_end_to_end(tls_stack):
    push_and_pull(tls_stack, "tls")
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
