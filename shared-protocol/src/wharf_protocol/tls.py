"""TLS for both services: the server settings, their SSL contexts, and outgoing trust.

Names follow the reference registry (distribution), whose ``http.tls.certificate``,
``http.tls.key`` and ``http.tls.clientcas`` are ``REGISTRY_HTTP_TLS_CERTIFICATE``,
``REGISTRY_HTTP_TLS_KEY`` and ``REGISTRY_HTTP_TLS_CLIENTCAS``; the Index reads the same under
``INDEX_HTTP_TLS_*``. Certificate and key are PEM file paths, given both or neither;
CLIENTCAS is a comma-separated list of CA PEM files: when set, every client must present a
certificate one of them signed (``CERT_REQUIRED``). Servers accept TLS 1.2 and later only.

Each service's settings parse these with :func:`server_tls_from_env` and outgoing trust
(a CA bundle, an optional client certificate) with :func:`ca_file_problem` and
:func:`client_cert_problem`, so that a missing or unreadable file stops start-up with a
message naming the variable, not with a traceback from the first handshake.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "MINIMUM_VERSION",
    "ServerTLS",
    "ca_file_problem",
    "client_cert_problem",
    "server_context",
    "server_tls_from_env",
]

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2


@dataclass(frozen=True)
class ServerTLS:
    """A server's certificate chain and key (PEM files), and the CAs clients must chain to."""

    certificate: str
    key: str
    client_cas: tuple[str, ...] = ()

    def context(self) -> ssl.SSLContext:
        """The server context: TLS >= 1.2, no renegotiation, client certificates if asked."""
        return server_context(self)


def server_context(tls: ServerTLS) -> ssl.SSLContext:
    """Build the SSL context ``tls`` describes (raises ``ssl.SSLError``/``OSError``)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MINIMUM_VERSION
    context.options |= ssl.OP_NO_RENEGOTIATION  # the event loop never answers a renegotiation
    context.load_cert_chain(tls.certificate, tls.key)
    if tls.client_cas:
        for cafile in tls.client_cas:
            context.load_verify_locations(cafile=cafile)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def server_tls_from_env(
    env: Mapping[str, str], prefix: str
) -> tuple[ServerTLS | None, dict[str, str]]:
    """Parse ``<prefix>_CERTIFICATE``, ``_KEY`` and ``_CLIENTCAS``; return (tls, problems).

    ``problems`` maps each bad variable to what is wrong with it (files are loaded, so an
    unreadable or mismatched certificate and key are found here, at start-up).
    """
    cert_name, key_name, cas_name = (f"{prefix}_{n}" for n in ("CERTIFICATE", "KEY", "CLIENTCAS"))
    certificate, key = env.get(cert_name) or None, env.get(key_name) or None
    client_cas = tuple(p.strip() for p in (env.get(cas_name) or "").split(",") if p.strip())
    problems: dict[str, str] = {}
    if not certificate and not key:
        if client_cas:
            problems[cas_name] = f"needs {cert_name} and {key_name}"
        return None, problems
    if not (certificate and key):
        missing = key_name if certificate else cert_name
        given = cert_name if certificate else key_name
        problems[missing] = f"required when {given} is set (both or neither)"
        return None, problems
    for path in client_cas:
        if problem := ca_file_problem(path):
            problems[cas_name] = problem
    if problem := _chain_problem(certificate, key):
        problems[key_name if problem.startswith("key") else cert_name] = problem
    return ServerTLS(certificate, key, client_cas), problems


def ca_file_problem(path: str) -> str | None:
    """What is wrong with ``path`` as a PEM CA bundle, or None when it loads."""
    try:
        ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return f"cannot load CA file {path!r}: {_why(exc)}"
    return None


def client_cert_problem(certificate: str, key: str) -> str | None:
    """What is wrong with a client certificate and its key, or None when they load."""
    return _chain_problem(certificate, key)


def _chain_problem(certificate: str, key: str) -> str | None:
    """None, or the problem; it starts with "key" when the key file is the culprit."""
    for path, what in ((certificate, "certificate"), (key, "key")):
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            return f"{what} file {path!r} cannot be read: {exc.strerror}"
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(certificate, key)
    except (OSError, ssl.SSLError, ValueError) as exc:
        why = _why(exc)
        if "KEY" in str(why).upper():
            return f"key file {key!r} is not the PEM private key of the certificate: {why}"
        return f"certificate file {certificate!r} is not a PEM certificate chain: {why}"
    return None


def _why(exc: BaseException) -> str:
    return getattr(exc, "reason", None) or getattr(exc, "strerror", None) or type(exc).__name__
