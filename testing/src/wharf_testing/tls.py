"""TLS for services under test: a private CA, a server and a client certificate.

The certificates come from :mod:`wharf_protocol.devtls` (the same code ``./deploy/local/up
--tls`` uses), so this module needs wharf-protocol installed beside the harness (the
services' test environments have it; the plugin does not import this module).

    tls = make_tls(tmp_path / "tls", sans=("127.0.0.1", "localhost"))
    env = {**registry_env, **tls.env("REGISTRY_HTTP_TLS")}
    service = GunicornService(app, env, "registry", tls=tls)
    requests.get(service.url + "/v2/", **tls.requests_kwargs())
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

from wharf_protocol.devtls import DEFAULT_SANS, Issued, ensure

__all__ = ["TestTLS", "make_tls"]


@dataclass(frozen=True)
class TestTLS:
    """PEM files: ``ca`` (the CA certificate), ``server`` and ``client`` (certificate, key)."""

    __test__ = False  # not a pytest test class

    directory: str
    ca: str
    server: Issued
    client: Issued
    require_client_cert: bool = False

    def requiring_client_cert(self) -> TestTLS:
        """The same files, the service to require client certificates (``_CLIENTCAS``)."""
        return replace(self, require_client_cert=True)

    def env(self, prefix: str) -> dict[str, str]:
        """A service's TLS variables: ``<prefix>_CERTIFICATE``, ``_KEY`` (and ``_CLIENTCAS``)."""
        env = {f"{prefix}_CERTIFICATE": self.server.certificate, f"{prefix}_KEY": self.server.key}
        if self.require_client_cert:
            env[f"{prefix}_CLIENTCAS"] = self.ca
        return env

    def requests_kwargs(self, client_cert: bool = True) -> dict:
        """``verify`` (the test CA) and, unless ``client_cert`` is False, ``cert``."""
        cert = (self.client.certificate, self.client.key) if client_cert else None
        return {"verify": self.ca, "cert": cert}

    def cert_dir(self, directory: str) -> str:
        """Make ``directory`` a ``--cert-dir`` for skopeo/podman/docker: ``ca.crt`` (the CA)
        and ``client.cert``/``client.key`` (their names for a client certificate)."""
        os.makedirs(directory, exist_ok=True)
        for source, name in (
            (self.ca, "ca.crt"),
            (self.client.certificate, "client.cert"),
            (self.client.key, "client.key"),
        ):
            with open(source, "rb") as src, open(os.path.join(directory, name), "wb") as dst:
                dst.write(src.read())
        return directory


def make_tls(directory: str | os.PathLike, sans: Sequence[str] = DEFAULT_SANS) -> TestTLS:
    """A CA and server (for ``sans``: host names and IP addresses) and client certificates
    in ``directory``, made when missing."""
    directory = os.fspath(directory)
    ca, server, client = ensure(directory, tuple(sans))
    return TestTLS(directory, ca, server, client)
