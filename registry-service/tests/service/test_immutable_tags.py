"""Immutable tags: the patterns a token's ``wharf`` claim names for a repository
(wharf_protocol.policy) keep its matching tags from moving to another digest or being
deleted; refusals are 403 DENIED naming the tag and pattern, and change nothing."""

from __future__ import annotations

import json
import time

import pytest
from fake_index import KEY, NAME, REALM, bearer, scopes
from wharf_protocol.keys import KeySet
from wharf_protocol.policy import Policy, RepositoryPolicy
from wharf_protocol.tokens import TokenIssuer
from wharf_registry.app import create_app
from wharf_registry.settings import Settings

REPO = "acme/app"
ALL = f"repository:{REPO}:pull,push,delete"


@pytest.fixture
def settings(tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(KeySet([KEY.public]).jwks()))
    return Settings(
        storage_driver="filesystem",
        auth="token",
        token_verify="local",
        token_jwks=str(path),
        index_name=NAME,
        token_realm=REALM,
        manifest_max_size=64 * 1024,
    )


def use_token(client, *patterns: str) -> None:
    """Send every following request of ``client`` with a token whose policy makes
    ``patterns`` immutable in acme/app (none: an empty policy)."""
    policy = Policy({REPO: RepositoryPolicy(patterns)}) if patterns else Policy()
    issuer = TokenIssuer(KEY, "wharf-index", clock=time.time)
    token, _ = issuer.issue("alice", NAME, scopes(ALL), 300, policy=policy)
    client.environ_base["HTTP_AUTHORIZATION"] = bearer(token)["Authorization"]


def _denied(response, tag: str, pattern: str) -> None:
    assert response.status_code == 403, response.get_data(as_text=True)
    [error] = response.get_json()["errors"]
    assert error["code"] == "DENIED"
    assert error["message"] == f"tag {tag} is immutable in {REPO} (pattern {pattern})"
    assert error["detail"] == {"tag": tag, "pattern": pattern}


def _tag_digest(client, tag: str) -> str:
    r = client.head(f"/v2/{REPO}/manifests/{tag}")
    assert r.status_code == 200
    return r.headers["Docker-Content-Digest"]


def test_an_immutable_tag_does_not_move_and_a_mutable_one_does(client, oci):
    use_token(client, "v*")
    first, _ = oci.push_image(REPO, "v1.2", layers=(b"one",))  # a first push is allowed
    oci.push_image(REPO, "latest", layers=(b"one",))
    other = oci.image(REPO, layers=(b"two",))
    _denied(oci.put_manifest(REPO, "v1.2", other, status=403), "v1.2", "v*")
    assert _tag_digest(client, "v1.2") == first
    moved = oci.put_manifest(REPO, "latest", other).headers["Docker-Content-Digest"]
    assert _tag_digest(client, "latest") == moved != first


def test_pushing_the_same_digest_again_is_allowed(client, oci):
    use_token(client, "v*")
    digest, body = oci.push_image(REPO, "v1")
    again = oci.put_manifest(REPO, "v1", body)
    assert again.headers["Docker-Content-Digest"] == digest


def test_deleting_an_immutable_tag_or_its_manifest_is_refused(client, oci):
    use_token(client, "release-?")
    digest, _ = oci.push_image(REPO, "release-1")
    oci.push_image(REPO, "dev", layers=(b"dev",))
    _denied(client.delete(f"/v2/{REPO}/manifests/release-1"), "release-1", "release-?")
    _denied(client.delete(f"/v2/{REPO}/manifests/{digest}"), "release-1", "release-?")
    assert _tag_digest(client, "release-1") == digest
    assert client.head(f"/v2/{REPO}/manifests/{digest}").status_code == 200
    assert client.delete(f"/v2/{REPO}/manifests/dev").status_code == 202
    # A missing tag is unknown whatever its name: the refusal never says more.
    assert client.delete(f"/v2/{REPO}/manifests/release-2").status_code == 404


def test_a_token_without_patterns_moves_and_deletes_anything(client, oci):
    use_token(client, "v*")
    oci.push_image(REPO, "v1")
    use_token(client)  # the Index dropped the pattern: the next token carries none
    other = oci.image(REPO, layers=(b"two",))
    moved = oci.put_manifest(REPO, "v1", other).headers["Docker-Content-Digest"]
    assert _tag_digest(client, "v1") == moved
    assert client.delete(f"/v2/{REPO}/manifests/v1").status_code == 202


def test_patterns_of_another_repository_do_not_apply(client, oci):
    policy = Policy({"acme/other": RepositoryPolicy(("*",))})
    token, _ = TokenIssuer(KEY, "wharf-index").issue("alice", NAME, scopes(ALL), 300, policy=policy)
    client.environ_base["HTTP_AUTHORIZATION"] = bearer(token)["Authorization"]
    oci.push_image(REPO, "v1")
    assert client.delete(f"/v2/{REPO}/manifests/v1").status_code == 202


def test_without_a_token_nothing_is_immutable(oci):
    client = create_app(Settings(storage_driver="inmemory")).test_client()  # auth none
    oci = type(oci)(client)
    oci.push_image(REPO, "v1")
    oci.push_image(REPO, "v1", layers=(b"two",))
    assert client.delete(f"/v2/{REPO}/manifests/v1").status_code == 202
