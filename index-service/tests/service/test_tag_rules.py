"""Immutable tag patterns and retention rules: the API (repository admins only), and the
patterns in the push and delete tokens the Index issues (services/token_policy.py)."""

from __future__ import annotations

import pytest
from wharf_index.services import access_tokens, repositories

from tests.service.conftest import basic

URL = "/api/v1/repositories/alice/app/-"


@pytest.fixture
def app_repo(make_repo):
    return make_repo("alice/app", "public")


def test_immutable_patterns_are_set_read_and_audited(client, app_repo, sql):
    assert client.get(f"{URL}/immutable-tags", headers=basic("alice")).json == {"patterns": []}
    put = client.put(
        f"{URL}/immutable-tags",
        json={"patterns": ["v*", "release-?", "v*"]},
        headers=basic("alice"),
    )
    assert put.status_code == 200 and put.json == {"patterns": ["v*", "release-?"]}
    assert client.get(f"{URL}/immutable-tags", headers=basic("alice")).json == put.json
    [(detail,)] = sql("SELECT detail FROM audit_log WHERE action = 'repository.set_immutable_tags'")
    assert detail == {"patterns": ["v*", "release-?"]}
    cleared = client.put(f"{URL}/immutable-tags", json={"patterns": []}, headers=basic("alice"))
    assert cleared.json == {"patterns": []}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"patterns": "v*"},
        {"patterns": [""]},
        {"patterns": ["v 1"]},
        {"patterns": ["a/b"]},
        {"patterns": ["x" * 129]},
        {"patterns": [f"p{i}" for i in range(51)]},
        {"patterns": ["v*"], "other": 1},
    ],
)
def test_bad_patterns_are_400(client, app_repo, body):
    response = client.put(f"{URL}/immutable-tags", json=body, headers=basic("alice"))
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "VALIDATION_FAILED"


def test_only_admins_read_or_change_the_rules(client, app_repo, make_repo, uow, principal):
    make_repo("alice/secret")  # private
    for path in ("immutable-tags", "retention", "retention/preview"):
        # a public repository: others are refused; a private one: it does not exist for them
        assert client.get(f"{URL}/{path}", headers=basic("bob")).status_code == 403
        hidden = f"/api/v1/repositories/alice/secret/-/{path}"
        assert client.get(hidden, headers=basic("bob")).status_code == 404
        assert client.get(f"{URL}/{path}").status_code == 401
    _, secret = access_tokens.create_access_token(
        uow, principal("alice"), "t", [{"repository": "alice/*", "actions": ["*"]}]
    )
    docker = basic("alice", secret)
    assert client.get(f"{URL}/retention", headers=docker).status_code == 403
    body = {"patterns": ["v*"]}
    assert client.put(f"{URL}/immutable-tags", json=body, headers=docker).status_code == 403
    repositories.set_collaborator(uow, principal("alice"), "alice/app", "bob", "admin")
    assert client.put(f"{URL}/immutable-tags", json=body, headers=basic("bob")).status_code == 200


def test_push_and_delete_tokens_carry_the_patterns(
    client, app_repo, make_repo, get_token, claims_of
):
    make_repo("alice/other")
    client.put(f"{URL}/immutable-tags", json={"patterns": ["v*"]}, headers=basic("alice"))

    def policy(*scopes):
        token = get_token(*scopes, user="alice").json["token"]
        return claims_of(token).policy.to_claim()

    rules = {"repositories": {"alice/app": {"immutable": ["v*"]}}}
    assert policy("repository:alice/app:pull,push") == rules
    assert policy("repository:alice/app:delete") == rules
    assert policy("repository:alice/app:pull,push", "repository:alice/other:push") == rules
    assert policy("repository:alice/app:pull") == {}  # a pull never moves a tag
    assert policy("repository:alice/other:push") == {}  # no patterns there
    # bob may only pull the public repository: the push is not granted, no rules.
    token = get_token("repository:alice/app:push,pull", user="bob").json["token"]
    assert claims_of(token).policy.to_claim() == {}


def test_retention_rules_are_set_read_and_checked(client, app_repo, sql):
    empty = client.get(f"{URL}/retention", headers=basic("alice")).json
    assert empty == {
        "keep_newest": None,
        "keep_patterns": [],
        "max_age_days": None,
        "immutable": [],
    }
    body = {"keep_newest": 3, "keep_patterns": ["latest", "stable-*"], "max_age_days": 30}
    put = client.put(f"{URL}/retention", json=body, headers=basic("alice"))
    assert put.status_code == 200 and put.json == body | {"immutable": []}
    assert client.get(f"{URL}/retention", headers=basic("alice")).json == put.json
    [(detail,)] = sql("SELECT detail FROM audit_log WHERE action = 'repository.set_retention'")
    assert detail == body
    for bad in (
        {"keep_newest": -1, "max_age_days": None},
        {"keep_newest": None, "max_age_days": 0},
        {"keep_newest": 1.5, "max_age_days": None},
        {"keep_newest": "3", "max_age_days": None},
        {"keep_newest": True, "max_age_days": None},
        {"keep_newest": 3},
        {"keep_newest": None, "max_age_days": None, "keep_patterns": ["no spaces"]},
    ):
        response = client.put(f"{URL}/retention", json=bad, headers=basic("alice"))
        assert response.status_code == 400, (bad, response.json)
    off = {"keep_newest": None, "max_age_days": None}
    assert client.put(f"{URL}/retention", json=off, headers=basic("alice")).json == {
        "keep_newest": None,
        "keep_patterns": [],
        "max_age_days": None,
        "immutable": [],
    }
