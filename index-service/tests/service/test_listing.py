"""Listing and searching for clients: the Index's ``/v2/_catalog``, ``/v1/search`` with
registry tokens and podman's credential-less request, a registry's question which names
of its catalog a caller may pull (``/internal/v1/catalog/pullable``), and one-part names
as ``library/<name>`` at the token endpoint."""

from __future__ import annotations

import base64
import json
from importlib import resources

import pytest
from wharf_index.services import access_tokens
from wharf_protocol.client import TokenRejected

from tests.service.conftest import REGISTRY, access_of, basic


@pytest.fixture
def repos(make_repo, users):
    make_repo("alice/public", "public")
    make_repo("alice/private", "private")
    make_repo("bob/secret", "private")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _index_token(client, settings, user: str | None = None) -> str:
    headers = basic(user) if user else {}
    query = {"service": settings.token_issuer}
    response = client.get("/v2/token", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["token"]


def test_the_index_catalog_lists_what_the_caller_may_pull(client, settings, repos):
    anonymous = client.get("/v2/_catalog")
    assert anonymous.status_code == 200
    assert anonymous.get_json() == {"repositories": ["alice/public"]}
    assert anonymous.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    by_token = client.get("/v2/_catalog", headers=_bearer(_index_token(client, settings)))
    assert by_token.get_json() == {"repositories": ["alice/public"]}
    alice = client.get("/v2/_catalog", headers=_bearer(_index_token(client, settings, "alice")))
    assert alice.get_json() == {"repositories": ["alice/private", "alice/public"]}
    bob = client.get("/v2/_catalog", headers=basic("bob")).get_json()
    assert bob == {"repositories": ["alice/public", "bob/secret"]}
    carol = client.get("/v2/_catalog?n=2", headers=basic("carol"))  # an administrator
    assert carol.get_json() == {"repositories": ["alice/private", "alice/public"]}
    assert carol.headers["Link"] == '</v2/_catalog?last=alice%2Fpublic&n=2>; rel="next"'
    rest = client.get("/v2/_catalog?n=2&last=alice/public", headers=basic("carol"))
    assert rest.get_json() == {"repositories": ["bob/secret"]} and "Link" not in rest.headers
    assert client.get("/v2/_catalog?n=x").status_code == 400
    assert client.get("/v2/_catalog", headers=_bearer("not-a-token")).status_code == 401


def test_podman_search_without_credentials_is_sent_to_the_catalog(client, repos):
    podman = {"Docker-Distribution-API-Version": "registry/2.0"}
    refused = client.get("/v1/search?q=alice", headers=podman)
    assert refused.status_code == 401  # podman then lists /v2/_catalog with its credentials
    docker = client.get("/v1/search?q=alice").get_json()  # docker sends no such header
    assert [r["name"] for r in docker["results"]] == ["alice/public"]
    signed_in = client.get("/v1/search?q=alice", headers={**podman, **basic("alice")})
    assert [r["name"] for r in signed_in.get_json()["results"]] == [
        "alice/private",
        "alice/public",
    ]


def test_search_takes_a_registry_token_granting_the_catalog(client, get_token, repos):
    token = get_token("registry:catalog:search", user="alice").get_json()["token"]
    body = client.get("/v1/search?q=alice", headers=_bearer(token)).get_json()
    assert [r["name"] for r in body["results"]] == ["alice/private", "alice/public"]
    anonymous = get_token("registry:catalog:search").get_json()["token"]
    body = client.get("/v1/search?q=alice", headers=_bearer(anonymous)).get_json()
    assert [r["name"] for r in body["results"]] == ["alice/public"]
    pull_only = get_token("repository:alice/private:pull", user="alice").get_json()["token"]
    assert client.get("/v1/search?q=alice", headers=_bearer(pull_only)).status_code == 401


def test_a_registry_asks_which_catalog_names_its_caller_may_pull(
    index_client, make_index_client, get_token, uow, users, repos
):
    names = ["alice/private", "alice/public", "bob/secret", "ghost/unknown"]

    def token(user):
        return get_token("registry:catalog:*", user=user).get_json()["token"]

    # administrators: everything; the registry's first call makes it a Wharf registry,
    # whose catalog tokens then go to everyone
    assert index_client.pullable(token("carol"), names) == names
    assert index_client.pullable(token("alice"), names) == ["alice/private", "alice/public"]
    assert index_client.pullable(token(None), names) == ["alice/public"]
    without_grant = get_token("repository:alice/private:pull", user="alice").get_json()["token"]
    with pytest.raises(TokenRejected):
        index_client.pullable(without_grant, names)
    alices = token("alice")
    with uow:
        uow.issued_tokens.revoke(_jti(alices))
    with pytest.raises(TokenRejected):
        index_client.pullable(alices, names)
    with pytest.raises(TokenRejected):
        index_client.pullable(token("bob"), ["Not A Name"])


def _jti(token: str) -> str:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]


def test_one_part_names_are_library_names(get_token, claims_of, uow, users, sql):
    migration = resources.files("wharf_index.migrations") / "0019_library_organisation.sql"
    for _ in range(2):  # the tests empty every table; the migration's rows, made again
        sql(migration.read_text())
    with uow:
        library = uow.namespaces.find("library")
    assert library is not None and library.kind == "org"
    admin = get_token("repository:app:pull,push", user="carol").get_json()["token"]
    assert access_of(claims_of(admin)) == {"repository:library/app": {"pull", "push"}}
    refused = get_token("repository:app:pull,push", user="alice")
    assert refused.status_code == 401
    error = refused.get_json()["error"]
    assert error["code"] == "DENIED"
    assert error["message"] == "library/app: only members of the library organisation may push here"
    challenge = refused.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ") and 'error="insufficient_scope"' in challenge
    assert f'error_description="{error["message"]}"' in challenge
    reader = get_token("repository:app:pull", user="alice").get_json()["token"]
    # carol's push token allocated it, public as the organisation's default
    assert access_of(claims_of(reader)) == {"repository:library/app": {"pull"}}
    own = get_token("repository:alice/app:pull,push", user="bob")
    assert own.status_code == 200  # elsewhere asking too much is no error


def _catalog_actions(get_token, claims_of, user, *scopes, service=REGISTRY):
    response = get_token("registry:catalog:*,search", *scopes, user=user, service=service)
    assert response.status_code == 200, response.get_data(as_text=True)
    return access_of(claims_of(response.get_json()["token"])).get("registry:catalog", set())


def test_a_registry_that_never_called_the_index_lists_nothing_to_non_administrators(
    client, get_token, claims_of, registry, registry_auth, uow, users, principal
):
    # Nothing tells it from the reference registry, which lists every name to every holder
    # of registry:catalog:*. Events do not tell either: that registry can send them too.
    events = client.post("/internal/v1/events", json={"events": []}, headers=registry_auth)
    assert events.status_code == 200
    for user in (None, "alice", "alice"):  # alice twice: the second one from the cache
        assert _catalog_actions(get_token, claims_of, user) == {"search"}
    # a token request that allocates (scenario B) takes the other path
    pushing = get_token("registry:catalog:*", "repository:alice/new:push", user="alice")
    assert access_of(claims_of(pushing.get_json()["token"])) == {"repository:alice/new": {"push"}}
    assert _catalog_actions(get_token, claims_of, "carol") == {"*", "search"}  # administrator
    # an administrator's access token lists only what its scopes allow: not here
    _, pat = access_tokens.create_access_token(
        uow, principal("carol"), "ci", [{"repository": "alice/*", "actions": ["pull"]}]
    )
    scoped = get_token("registry:catalog:*,search", user="carol", secret=pat)
    assert access_of(claims_of(scoped.get_json()["token"])) == {"registry:catalog": {"search"}}
    with uow:
        found = uow.registries.get(REGISTRY)
    assert (found.catalog, found.wharf_since, found.filters_catalog) == ("auto", None, False)


@pytest.mark.parametrize("call", ["verify", "pullable"])
def test_a_registry_that_called_the_index_lists_to_everyone(
    call, index_client, get_token, claims_of, uow, users
):
    assert _catalog_actions(get_token, claims_of, "alice") == {"search"}
    admin = get_token("registry:catalog:*", user="carol").get_json()["token"]
    if call == "verify":
        index_client.verify_token(admin)
    else:
        index_client.pullable(admin, ["alice/app"])
    with uow:
        since = uow.registries.get(REGISTRY).wharf_since
    assert since is not None
    for user in (None, "alice", "alice"):
        assert _catalog_actions(get_token, claims_of, user) == {"*", "search"}
    pushing = get_token("registry:catalog:*", "repository:alice/new:push", user="alice")
    assert access_of(claims_of(pushing.get_json()["token"]))["registry:catalog"] == {"*"}
    index_client.verify_token(admin)
    with uow:
        assert uow.registries.get(REGISTRY).wharf_since == since  # set once


def test_an_administrator_says_whether_a_registry_filters_its_catalog(
    client, index_client, get_token, claims_of, uow, users
):
    index_client.verify_token(get_token("registry:catalog:*", user="carol").get_json()["token"])

    def patch(catalog, user="carol"):
        url = f"/api/v1/registries/{REGISTRY}"
        return client.patch(url, json={"catalog": catalog}, headers=basic(user))

    unfiltered = patch("unfiltered")
    assert unfiltered.status_code == 200, unfiltered.get_data(as_text=True)
    assert unfiltered.get_json()["catalog"] == "unfiltered"
    assert unfiltered.get_json()["catalog_filtered"] is False
    assert _catalog_actions(get_token, claims_of, "alice") == {"search"}
    assert _catalog_actions(get_token, claims_of, "carol") == {"*", "search"}
    auto = patch("auto").get_json()
    assert (auto["catalog"], auto["catalog_filtered"]) == ("auto", True)  # it called before
    assert _catalog_actions(get_token, claims_of, "alice") == {"*", "search"}
    assert patch("auto", user="alice").status_code == 403
    assert patch("maybe").status_code == 400
    with uow:
        audit = uow.audit.list(limit=10)
    assert [e.action for e in audit].count("registry.update") == 2

    added = client.post(
        "/api/v1/registries",
        json={
            "name": "other.test",
            "url": "http://other.test",
            "kind": "private",
            "catalog": "filtered",
        },
        headers=basic("carol"),
    )
    assert added.status_code == 201, added.get_data(as_text=True)
    assert added.get_json()["registry"]["catalog_filtered"] is True
    assert _catalog_actions(get_token, claims_of, "alice", service="other.test") == {
        "*",
        "search",
    }
    with uow:
        assert uow.registries.get("other.test").wharf_since is None
