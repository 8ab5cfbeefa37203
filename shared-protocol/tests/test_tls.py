"""TLS settings and contexts (wharf_protocol.tls) and the private CA (wharf_protocol.devtls)."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import threading

import pytest
from cryptography import x509
from wharf_protocol import devtls, tls


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("tls"))
    ca, server, client = devtls.ensure(directory, ("localhost", "127.0.0.1"))
    return ca, server, client


def test_neither_file_means_plain_http():
    assert tls.server_tls_from_env({}, "X") == (None, {})


def test_the_settings_name_each_problem(files, tmp_path):
    ca, server, client = files
    env = {"X_CERTIFICATE": server.certificate, "X_KEY": server.key, "X_CLIENTCAS": ca}
    parsed, problems = tls.server_tls_from_env(env, "X")
    assert problems == {} and parsed == tls.ServerTLS(server.certificate, server.key, (ca,))
    cases = {
        "X_KEY": {"X_CERTIFICATE": server.certificate},
        "X_CERTIFICATE": {"X_KEY": server.key},
        "X_CLIENTCAS": {"X_CLIENTCAS": ca},  # client CAs without a certificate to serve
    }
    for name, case in cases.items():
        assert list(tls.server_tls_from_env(case, "X")[1]) == [name]
    missing = str(tmp_path / "missing.pem")
    for bad, name in (
        ({"X_CERTIFICATE": missing, "X_KEY": server.key}, "X_CERTIFICATE"),
        ({"X_CERTIFICATE": server.certificate, "X_KEY": missing}, "X_KEY"),
        ({"X_CERTIFICATE": server.certificate, "X_KEY": client.key}, "X_KEY"),  # not its key
        ({"X_CERTIFICATE": server.key, "X_KEY": server.key}, "X_CERTIFICATE"),  # not a cert
        (
            {**env, "X_CLIENTCAS": f"{ca}, {missing}"},
            "X_CLIENTCAS",
        ),
    ):
        problems = tls.server_tls_from_env(bad, "X")[1]
        assert list(problems) == [name], (bad, problems)
        assert name != "X_CLIENTCAS" or missing in problems[name]
        assert "Traceback" not in problems[name]
    assert tls.ca_file_problem(ca) is None
    assert "cannot load CA file" in tls.ca_file_problem(server.key)
    assert tls.client_cert_problem(client.certificate, client.key) is None


def test_the_server_context_wants_tls12_and_client_certificates(files):
    ca, server, _ = files
    plain = tls.ServerTLS(server.certificate, server.key).context()
    assert plain.minimum_version == ssl.TLSVersion.TLSv1_2
    assert plain.verify_mode == ssl.CERT_NONE
    mutual = tls.ServerTLS(server.certificate, server.key, (ca,)).context()
    assert mutual.verify_mode == ssl.CERT_REQUIRED


def _handshake(server_context: ssl.SSLContext, client_context: ssl.SSLContext) -> str:
    """One handshake over a socket pair: the client's version, or the error's class."""
    left, right = socket.socketpair()
    result: dict[str, object] = {}

    def serve() -> None:
        try:
            with server_context.wrap_socket(left, server_side=True) as conn:
                conn.recv(1)
        except (ssl.SSLError, OSError) as exc:
            result["server"] = exc

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client_context.wrap_socket(right, server_hostname="localhost") as conn:
            version = conn.version()
            conn.sendall(b"x")
            return version
    except (ssl.SSLError, OSError) as exc:
        return type(exc).__name__
    finally:
        thread.join(5)


def test_clients_verify_the_chain_and_old_protocols_are_refused(files):
    ca, server, client = files
    context = tls.ServerTLS(server.certificate, server.key).context()
    trusting = ssl.create_default_context(cafile=ca)
    assert _handshake(context, trusting) in ("TLSv1.2", "TLSv1.3")
    untrusting = ssl.create_default_context()
    assert _handshake(context, untrusting) == "SSLCertVerificationError"
    old = ssl.create_default_context(cafile=ca)
    old.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer TLS 1.1 at all
    with pytest.warns(DeprecationWarning):
        old.minimum_version = ssl.TLSVersion.TLSv1_1
    with pytest.warns(DeprecationWarning):
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    assert _handshake(context, old) == "SSLError"  # the server's minimum is TLS 1.2


def test_devtls_makes_a_chain_with_the_sans_and_private_keys(files, tmp_path):
    ca, server, client = files
    with open(server.certificate, "rb") as fh:
        cert = x509.load_pem_x509_certificate(fh.read())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(n.value) for n in names} == {"localhost", "127.0.0.1"}
    for key in (server.key, client.key, os.path.join(os.path.dirname(ca), "ca.key")):
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    # Run again: kept as they are; other SANs: the server certificate is issued anew.
    before = _read(server.certificate)
    devtls.ensure(os.path.dirname(ca), ("localhost", "127.0.0.1"))
    assert _read(server.certificate) == before
    devtls.ensure(os.path.dirname(ca), ("example.test",))
    assert _read(server.certificate) != before
    devtls.ensure(os.path.dirname(ca), ("localhost", "127.0.0.1"))


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()
