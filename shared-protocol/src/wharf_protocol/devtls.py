"""A private CA and the certificates it signs, for local stacks and tests (never production).

``./deploy/local/up --tls`` and the test harness both use this module, so both trust the
same kind of chain: a self-signed CA (``ca.crt``), server certificates whose subject
alternative names list the host names and IP addresses clients dial (RFC 5280 section
4.2.1.6; clients match against the SANs, never the common name), and client certificates
for mutual TLS. Keys are ECDSA P-256, written with mode 0600.

``python -m wharf_protocol.devtls DIR [--san NAME ...]`` makes ``DIR/ca.crt``,
``DIR/server.crt``/``.key`` and ``DIR/client.crt``/``.key`` when missing and prints nothing.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["DEFAULT_SANS", "Authority", "Issued", "ensure", "main"]

DEFAULT_SANS = ("localhost", "127.0.0.1", "::1")
_VALID = datetime.timedelta(days=825)


@dataclass(frozen=True)
class Issued:
    """The PEM files of one issued certificate and its key."""

    certificate: str
    key: str


class Authority:
    """A CA whose certificate and key live in ``directory`` (``ca.crt``, ``ca.key``)."""

    def __init__(self, directory: str, name: str = "Wharf local CA") -> None:
        self.directory = directory
        self.certificate = os.path.join(directory, "ca.crt")
        self.key_file = os.path.join(directory, "ca.key")
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if os.path.exists(self.certificate) and os.path.exists(self.key_file):
            with open(self.key_file, "rb") as fh:
                self._key = serialization.load_pem_private_key(fh.read(), None)
            with open(self.certificate, "rb") as fh:
                self._cert = x509.load_pem_x509_certificate(fh.read())
            return
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self._cert = (
            _builder(subject, subject, self._key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(cert_sign=True), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        _write(self.key_file, _key_pem(self._key), private=True)
        _write(self.certificate, self._cert.public_bytes(serialization.Encoding.PEM))

    def issue(
        self, name: str, sans: Sequence[str] = DEFAULT_SANS, *, client: bool = False
    ) -> Issued:
        """Sign ``name.crt``/``name.key`` in the directory: a server certificate for
        ``sans`` (DNS names and IP addresses), or with ``client`` one for client auth."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sans[0] if sans else name)])
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (
            _builder(subject, self._cert.subject, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if sans:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([_general_name(s) for s in sans]), critical=False
            )
        cert = builder.sign(self._key, hashes.SHA256())
        issued = Issued(
            os.path.join(self.directory, f"{name}.crt"), os.path.join(self.directory, f"{name}.key")
        )
        _write(issued.key, _key_pem(key), private=True)
        _write(issued.certificate, cert.public_bytes(serialization.Encoding.PEM))
        return issued


def ensure(directory: str, sans: Sequence[str] = DEFAULT_SANS) -> tuple[str, Issued, Issued]:
    """Return (CA certificate, server, client) in ``directory``, making what is missing.

    A server certificate whose SANs differ from ``sans`` is issued again.
    """
    ca = Authority(directory)
    server = Issued(*(os.path.join(directory, f"server.{e}") for e in ("crt", "key")))
    if _sans(server.certificate) != set(sans) or not os.path.exists(server.key):
        server = ca.issue("server", sans)
    client = Issued(*(os.path.join(directory, f"client.{e}") for e in ("crt", "key")))
    if not (os.path.exists(client.certificate) and os.path.exists(client.key)):
        client = ca.issue("client", ("wharf-client",), client=True)
    return ca.certificate, server, client


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wharf_protocol.devtls", description=__doc__)
    parser.add_argument("directory")
    parser.add_argument("--san", action="append", help="DNS name or IP address (repeatable)")
    args = parser.parse_args(argv)
    ensure(args.directory, tuple(args.san or DEFAULT_SANS))
    return 0


def _builder(subject: x509.Name, issuer: x509.Name, public_key) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALID)
    )


def _usage(cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _general_name(san: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(san))
    except ValueError:
        return x509.DNSName(san)


def _sans(path: str) -> set[str]:
    try:
        with open(path, "rb") as fh:
            cert = x509.load_pem_x509_certificate(fh.read())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return set()
    return {str(n.value) for n in names}


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: str, data: bytes, private: bool = False) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


if __name__ == "__main__":
    raise SystemExit(main())
