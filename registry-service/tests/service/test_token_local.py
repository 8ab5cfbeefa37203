"""REGISTRY_AUTH=token with REGISTRY_AUTH_TOKEN_VERIFY=local: signature checked here, no call.

The token server's public keys come from a PEM certificate bundle
(REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE) or a JWK Set file (REGISTRY_AUTH_TOKEN_JWKS).
"""

from __future__ import annotations

import json
import time

import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fake_index import KEY, NAME, REALM, bearer, scopes
from wharf_protocol.keys import KeySet, SigningKey
from wharf_protocol.tokens import TokenIssuer
from wharf_registry.app import create_app
from wharf_registry.auth import published_keys
from wharf_registry.settings import ConfigError, Settings

OTHER = SigningKey.generate()


@pytest.fixture(params=["rootcertbundle", "jwks"])
def settings(request, tmp_path):
    keys = KeySet([KEY.public])
    if request.param == "rootcertbundle":
        path = tmp_path / "token-certs.pem"
        path.write_bytes(keys.pem_bundle())
    else:
        path = tmp_path / "jwks.json"
        path.write_text(json.dumps(keys.jwks()))
    return Settings(
        storage_driver="filesystem",
        auth="token",
        token_verify="local",
        **{f"token_{request.param}": str(path)},
        index_name=NAME,
        token_realm=REALM,
        token_leeway=60,
    )


@pytest.fixture
def no_network():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def mint(audience=NAME, issued_ago=0, ttl=300, key=KEY, issuer="wharf-index"):
    minted = TokenIssuer(key, issuer, clock=lambda: time.time() - issued_ago)
    token, _ = minted.issue("alice", audience, scopes("repository:team/app:pull"), ttl)
    return bearer(token)


@pytest.mark.parametrize(
    ("token", "status", "message"),
    [
        ({}, 200, None),
        ({"issued_ago": 300 + 30}, 200, None),  # expired 30 s ago: within the 60 s leeway
        ({"issued_ago": 300 + 120}, 401, "token rejected: expired"),
        ({"audience": "another-registry"}, 401, "token rejected: wrong_audience"),
        ({"key": OTHER}, 401, "token rejected: unknown_key"),
        ({"issuer": "someone-else"}, 401, "token rejected: wrong_issuer"),
        (None, 401, "authentication required: a bearer token is needed"),
    ],
)
def test_local_verification(client, no_network, token, status, message):
    # minted here, not at collection: the clock must not move between minting and the check
    headers = {} if token is None else mint(**token)
    r = client.get("/v2/team/app/tags/list", headers=headers)
    expected = 404 if status == 200 else 401  # the repository does not exist
    assert r.status_code == expected
    if message:
        assert r.get_json()["errors"][0]["message"] == message
        assert r.headers["WWW-Authenticate"].startswith(f'Bearer realm="{REALM}",service="{NAME}"')
    else:
        assert r.get_json()["errors"][0]["code"] == "NAME_UNKNOWN"
    assert len(no_network.calls) == 0


def test_local_mode_needs_keys_and_a_realm():
    with pytest.raises(ConfigError) as info:
        create_app(
            Settings(storage_driver="inmemory", auth="token", token_verify="local", index_name=NAME)
        )
    assert "REGISTRY_AUTH_TOKEN_JWKS (or _ROOTCERTBUNDLE): required" in str(info.value)
    assert "REGISTRY_AUTH_TOKEN_REALM" in str(info.value)


@pytest.mark.parametrize("setting", ["rootcertbundle", "jwks"])
def test_an_unusable_key_file_stops_start_up_naming_the_setting(tmp_path, setting):
    bad = tmp_path / "keys"
    bad.write_text("neither PEM nor JSON")
    for path in (bad, tmp_path / "missing"):
        kwargs = {f"token_{setting}": str(path)}
        with pytest.raises(ConfigError, match=f"REGISTRY_AUTH_TOKEN_{setting.upper()}: "):
            create_app(
                Settings(
                    storage_driver="inmemory",
                    auth="token",
                    token_verify="local",
                    index_name=NAME,
                    token_realm=REALM,
                    **kwargs,
                )
            )


def _objects(root, seen=None):
    """Every object reachable from ``root`` through attributes, containers and closures."""
    seen = set() if seen is None else seen
    if id(root) in seen or isinstance(root, (str, bytes, int, float, bool, type(None), type)):
        return
    seen.add(id(root))
    yield root
    children = []
    if isinstance(root, dict):
        children = [*root.keys(), *root.values()]
    elif isinstance(root, (list, tuple, set, frozenset)):
        children = list(root)
    else:
        children = list(getattr(root, "__dict__", {}).values())
        children += [getattr(root, s, None) for s in getattr(type(root), "__slots__", ())]
        closure = getattr(root, "__closure__", None) or ()
        children += [cell.cell_contents for cell in closure]
        children.append(getattr(root, "__self__", None))  # a bound method's object
    for child in children:
        yield from _objects(child, seen)


def test_the_registry_holds_public_keys_only(client):
    auth = client.application.extensions["registry"].auth
    reachable = list(_objects(auth)) + list(_objects(client.application.config["SETTINGS"]))
    public = [o for o in reachable if isinstance(o, ec.EllipticCurvePublicKey | rsa.RSAPublicKey)]
    assert public  # the walk does reach the keys
    private = (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, SigningKey, TokenIssuer)
    assert not [o for o in reachable if isinstance(o, private)]
    files = published_keys(client.application.config["SETTINGS"]).files
    assert [key.kid for key in files.keys] == [KEY.kid]


def test_local_catalog_lists_what_the_token_may_pull_and_all_to_the_index(client, no_network):
    issuer = TokenIssuer(KEY, "wharf-index")

    def as_subject(subject: str, *values: str) -> dict[str, str]:
        token, _ = issuer.issue(subject, NAME, scopes(*values), 300)
        return bearer(token)

    pusher = as_subject("alice", "repository:a/x:pull,push", "repository:b/y:pull,push")
    for name in ("a/x", "b/y"):
        upload = client.post(
            f"/v2/{name}/blobs/uploads/?digest=sha256:"
            + "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            data=b"hello",
            headers=pusher,
        )
        assert upload.status_code == 201, upload.get_json()
    catalog = "registry:catalog:*"
    # the Wharf Index grants the catalog scope to everyone: no Index to ask, so the token's
    # own pull grants decide (never every private name to every caller)
    bob = client.get("/v2/_catalog", headers=as_subject("bob", catalog, "repository:a/x:pull"))
    assert bob.get_json() == {"repositories": ["a/x"]}
    index = client.get("/v2/_catalog", headers=as_subject("wharf-index", catalog))
    assert index.get_json() == {"repositories": ["a/x", "b/y"]}  # registry sync reads it all
    assert client.get("/v2/_catalog", headers=as_subject("bob")).status_code == 401
