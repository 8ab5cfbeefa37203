"""Client certificates required at both services (INDEX_/REGISTRY_HTTP_TLS_CLIENTCAS).

A client without a certificate is refused at the handshake; with one signed by the test CA
it is served; skopeo presents ``client.cert`` from its ``--cert-dir`` and the registry its
own to the Index (REGISTRY_INDEX_TLS_CERTIFICATE/_KEY) for token checks and events.
"""

from __future__ import annotations

import pytest
import requests
from stack import push_and_pull


@pytest.fixture(scope="module")
def mtls_stack(make_stack):
    stack = make_stack(client_certs=True).bootstrap()
    stack.add_registry("reg1", "registry", ["alice"])
    yield stack
    stack.close()


def test_client_certificates_required_refuse_clients_without_one(mtls_stack):
    stack = mtls_stack
    tls = stack.tls
    for url in (f"{stack.index.url}/healthz", f"{stack.registries['reg1'].url}/v2/"):
        with pytest.raises(requests.ConnectionError):  # refused during the handshake
            requests.get(url, timeout=10, **tls.requests_kwargs(client_cert=False))
        response = requests.get(url, timeout=10, **tls.requests_kwargs())
        assert response.status_code in (200, 401), (url, response.status_code)
    # skopeo presents client.cert from its --cert-dir; the registry its own to the Index.
    push_and_pull(stack, "mtls")
