"""Blueprint ``well_known``: the public keys that verify the Index's tokens, unauthenticated.

- ``GET /.well-known/jwks.json``: the JWK Set (RFC 7517 section 5; ``application/json``) of
  the active signing key and of the retired keys still published (services/signing_keys.py),
  each with ``kid`` (RFC 7638 thumbprint), ``alg``, ``use: "sig"`` and ``x5c``; what Wharf's
  registries fetch.
- ``GET /.well-known/token-certs.pem``: the same keys' self-signed certificates, concatenated
  PEM (``application/x-pem-file``): the file the reference registry's
  ``auth.token.rootcertbundle`` names. It is read once at the registry's start: after
  ``wharf-index keys rotate`` the operator fetches it again and restarts the registry.

Both may be cached for :data:`MAX_AGE` seconds (a rotated-in key is published before any
token names it: verifiers that cache by ``kid`` refetch on an unknown one).
"""

from __future__ import annotations

import json

from flask import Blueprint, Response

from ..context import current

bp = Blueprint("well_known", __name__)
MAX_AGE = 60
CACHE_CONTROL = f"public, max-age={MAX_AGE}"


@bp.get("/.well-known/jwks.json")
def jwks():
    """The published keys as a JWK Set."""
    response = Response(
        json.dumps(current().authority.keys.published().jwks()), mimetype="application/json"
    )
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@bp.get("/.well-known/token-certs.pem")
def token_certs():
    """The published keys' certificates, one PEM bundle."""
    response = Response(
        current().authority.keys.published().pem_bundle(), mimetype="application/x-pem-file"
    )
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response
