"""``GET /v2/`` at the Index: ``docker login INDEX_HOST`` (challenge, login token, ping) and
the login token as a Bearer credential for ``/v1/search``."""

from __future__ import annotations

import pytest
from wharf_index.services import access_tokens, accounts
from wharf_protocol.client import TokenRejected
from wharf_protocol.keys import SigningKey
from wharf_protocol.scopes import parse_challenge
from wharf_protocol.tokens import TokenIssuer

from tests.conftest import PASSWORD
from tests.service.conftest import basic


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _challenge(response):
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "UNAUTHORIZED"
    return parse_challenge(response.headers["WWW-Authenticate"])


def _docker_login(client, user: str = "alice", secret: str = PASSWORD) -> dict:
    """What Docker does: ping, follow the challenge with Basic credentials, ping again."""
    challenge = _challenge(client.get("/v2/"))
    query = {
        "service": challenge.params["service"],
        "offline_token": "true",
        "client_id": "docker",
        "account": user,
    }
    response = client.get("/v2/token", query_string=query, headers=basic(user, secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_unauthenticated_ping_is_a_bearer_challenge_naming_the_index(client, settings):
    response = client.get("/v2/")
    challenge = _challenge(response)
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": f"{settings.public_url}/v2/token",
        "service": settings.token_issuer,
    }
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_docker_login_to_the_index(client, claims_of, settings, users):
    body = _docker_login(client)
    claims = claims_of(body["token"])
    assert claims.audience == settings.token_issuer and claims.subject == "alice"
    assert claims.access == ()
    assert body["refresh_token"]  # what Docker stores as the identity token
    response = client.get("/v2/", headers=_bearer(body["token"]))
    assert response.status_code == 200 and response.get_json() == {}
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    # Later commands present the identity token (the OAuth2 form) for the same service.
    form = {
        "grant_type": "refresh_token",
        "refresh_token": body["refresh_token"],
        "service": settings.token_issuer,
        "client_id": "docker",
        "scope": "registry:catalog:search repository:alice/x:pull,push",
    }
    refreshed = client.post("/v2/token", data=form)
    assert refreshed.status_code == 200, refreshed.get_data(as_text=True)
    assert claims_of(refreshed.get_json()["token"]).access == ()
    assert refreshed.get_json()["scope"] == ""
    assert client.get("/v2/", headers=_bearer(refreshed.get_json()["token"])).status_code == 200


def test_basic_credentials_are_accepted_wrong_ones_challenged(client, users):
    assert client.get("/v2/", headers=basic("alice")).status_code == 200
    for headers in (
        basic("alice", "wrong password!"),
        basic("nobody"),
        _bearer("garbage"),
        {"Authorization": "Bearer "},
        {"Authorization": "Digest x=1"},
    ):
        challenge = _challenge(client.get("/v2/", headers=headers))
        assert challenge.scheme == "bearer"
        assert challenge.params["error"] == "invalid_token"


def test_anonymous_callers_get_an_anonymous_token_that_opens_no_ping(client, settings, claims_of):
    response = client.get("/v2/token", query_string={"service": settings.token_issuer})
    assert response.status_code == 200  # podman fetches one before listing /v2/_catalog
    token = response.get_json()["token"]
    claims = claims_of(token)
    assert claims.subject == "" and claims.access == ()
    assert client.get("/v2/", headers=_bearer(token)).status_code == 401


def test_only_login_tokens_of_the_index_open_the_ping(
    client, settings, users, get_token, index_key
):
    registry_token = get_token("repository:alice/x:pull", user="alice").get_json()["token"]
    forged, _ = TokenIssuer(SigningKey.generate(), settings.token_issuer).issue(
        "alice", settings.token_issuer, ()
    )
    unrecorded, _ = TokenIssuer(index_key, settings.token_issuer).issue(
        "alice", settings.token_issuer, ()
    )
    refresh = _docker_login(client)["refresh_token"]
    for token in (registry_token, forged, unrecorded, refresh):
        assert client.get("/v2/", headers=_bearer(token)).status_code == 401


def test_a_login_token_is_no_registry_token(client, users, index_client):
    token = _docker_login(client)["token"]
    with pytest.raises(TokenRejected) as refused:
        index_client.verify_token(token)
    assert refused.value.reason == "wrong_audience"


def test_login_token_dies_with_the_password_or_the_account(client, uow, users):
    token = _docker_login(client)["token"]
    assert client.get("/v2/", headers=_bearer(token)).status_code == 200
    accounts.set_password(uow, "alice", "another long enough password")
    assert client.get("/v2/", headers=_bearer(token)).status_code == 401
    token = _docker_login(client, "bob")["token"]
    accounts.set_disabled(uow, "bob", True)
    assert client.get("/v2/", headers=_bearer(token)).status_code == 401


def test_login_with_an_access_token_ends_with_it(client, uow, principal, users):
    record, secret = access_tokens.create_access_token(
        uow, principal("alice"), "laptop", [{"repository": "*", "actions": ["pull"]}]
    )
    token = _docker_login(client, "alice", secret)["token"]
    assert client.get("/v2/", headers=_bearer(token)).status_code == 200
    access_tokens.revoke_token(uow, principal("alice"), record.id)
    assert client.get("/v2/", headers=_bearer(token)).status_code == 401


def test_search_with_a_login_token_sees_what_its_user_sees(client, users, make_repo, get_token):
    make_repo("alice/public-search", "public")
    make_repo("alice/private-search", "private")

    def names(headers):
        response = client.get("/v1/search", query_string={"q": "search"}, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return [r["name"] for r in response.get_json()["results"]]

    assert names({}) == ["alice/public-search"]
    assert names(_bearer(_docker_login(client, "bob")["token"])) == ["alice/public-search"]
    owner = _bearer(_docker_login(client, "alice")["token"])
    assert names(owner) == ["alice/private-search", "alice/public-search"]
    registry_token = get_token("repository:alice/private-search:pull", user="alice")
    refused = client.get(
        "/v1/search",
        query_string={"q": "search"},
        headers=_bearer(registry_token.get_json()["token"]),
    )
    assert refused.status_code == 401  # a registry's token is no credential at the Index
