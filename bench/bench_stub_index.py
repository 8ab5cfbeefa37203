"""A stand-in for the Index's two token surfaces, so token_bench.py can run a registry in
remote mode without PostgreSQL: ``GET /.well-known/jwks.json`` (the public key) and
``POST /internal/v1/tokens/verify`` (the real TokenVerifier; no revocation list, any
registry credential). Run under gunicorn as ``bench_stub_index:create_app()`` with
``BENCH_INDEX_KEYDIR`` holding ``key.pem`` and ``cert.pem`` (SigningKey.private_pem and
certificate_pem), ``BENCH_INDEX_AUDIENCE`` and ``BENCH_INDEX_ISSUER``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from wharf_protocol.keys import KeySet, SigningKey
from wharf_protocol.tokens import TokenError, TokenVerifier


def create_app():
    keydir = Path(os.environ["BENCH_INDEX_KEYDIR"])
    key = SigningKey.load((keydir / "key.pem").read_bytes(), (keydir / "cert.pem").read_bytes())
    keys = KeySet([key.public])
    jwks = json.dumps(keys.jwks()).encode()
    verifier = TokenVerifier(
        keys, os.environ["BENCH_INDEX_ISSUER"], os.environ["BENCH_INDEX_AUDIENCE"]
    )

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        status, body = "404 Not Found", b"{}"
        if path in ("/healthz", "/.well-known/jwks.json"):
            status, body = "200 OK", jwks
        elif path == "/internal/v1/tokens/verify" and environ["REQUEST_METHOD"] == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            token = json.loads(environ["wsgi.input"].read(size))["token"]
            try:
                claims = verifier.verify(token)
                status, body = "200 OK", json.dumps({"claims": claims.to_dict()}).encode()
            except TokenError as exc:
                error = {"code": "TOKEN_INVALID", "message": "no", "detail": {"reason": exc.reason}}
                status, body = "422 Unprocessable Entity", json.dumps({"error": error}).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app
