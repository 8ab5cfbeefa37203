"""``/api/v1/namespaces/<namespace>/quota``: administrators set it, owners and
administrators read it with its use (tests/service/test_quotas.py: how the use is counted).
"""

from __future__ import annotations

import pytest
from wharf_index.services import access_tokens, orgs, principals

from tests.api.conftest import API, basic, bearer

QUOTA = f"{API}/namespaces/acme/quota"


@pytest.fixture
def acme(uow, users):
    """Organisation acme owned by alice, bob a plain member; one manifest recorded."""
    alice = principals.principal_for(uow, users["alice"])
    orgs.create_org(uow, "acme", owner="alice", actor=alice)
    orgs.add_member(uow, "acme", "bob", actor=principals.principal_for(uow, users["alice"]))
    return alice


def test_owners_and_administrators_read_the_quota_and_its_use(client, acme, add_tag, make_repo):
    make_repo("acme/app", owner="alice")
    add_tag("acme/app", "latest", digest_char="a", layers=[("sha256:" + "1" * 64, 4096)])
    for who in ("alice", "carol"):
        answer = client.get(QUOTA, headers=basic(who))
        assert answer.status_code == 200, answer.json
        assert answer.json["limit"] is None and answer.json["default"] is True
        assert answer.json["used"] >= 4096
    assert client.get(QUOTA, headers=basic("bob")).status_code == 403  # a member, no owner
    assert client.get(QUOTA).status_code == 401
    unknown = client.get(f"{API}/namespaces/nobody/quota", headers=basic("carol"))
    assert unknown.status_code == 404


def test_an_access_token_may_not_read_it(client, uow, acme):
    _, secret = access_tokens.create_access_token(
        uow, acme, "t", [{"repository": "acme/*", "actions": ["admin"]}]
    )
    assert client.get(QUOTA, headers=bearer(secret)).status_code == 403


def test_administrators_set_and_clear_it(client, sql, acme):
    set_ = client.put(QUOTA, json={"limit": 10 << 30}, headers=basic("carol"))
    assert set_.status_code == 200, set_.json
    assert set_.json == {"limit": 10 << 30, "used": 0, "default": False}
    assert client.get(QUOTA, headers=basic("alice")).json["limit"] == 10 << 30
    none = client.put(QUOTA, json={"limit": None}, headers=basic("carol"))
    assert none.json == {"limit": None, "used": 0, "default": False}
    cleared = client.delete(QUOTA, headers=basic("carol"))
    assert cleared.status_code == 200 and cleared.json["default"] is True
    actions = {action for (action,) in sql("SELECT action FROM audit_log")}
    assert {"namespace.set_quota", "namespace.clear_quota"} <= actions


def test_owners_may_not_set_it(client, acme):
    assert client.put(QUOTA, json={"limit": 1}, headers=basic("alice")).status_code == 403
    assert client.delete(QUOTA, headers=basic("alice")).status_code == 403
    assert client.get(QUOTA, headers=basic("alice")).json["default"] is True


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"limit": -1},
        {"limit": 2**63},
        {"limit": "10GiB"},
        {"limit": 1.5},
        {"limit": True},
        {"limit": 1, "extra": 2},
    ],
)
def test_a_bad_limit_is_refused(client, acme, body):
    answer = client.put(QUOTA, json=body, headers=basic("carol"))
    assert answer.status_code == 400 and answer.json["error"]["code"] == "VALIDATION_FAILED"


def test_the_organisation_shows_its_quota_to_its_owners_and_administrators(client, acme):
    client.put(QUOTA, json={"limit": 1 << 20}, headers=basic("carol"))
    expected = {"limit": 1 << 20, "used": 0, "default": False}
    for who in ("alice", "carol"):
        assert client.get(f"{API}/orgs/acme", headers=basic(who)).json["quota"] == expected
    assert client.get(f"{API}/orgs/acme", headers=basic("bob")).json["quota"] is None
    public = client.get(f"{API}/orgs/acme")
    assert public.status_code == 200 and public.json["quota"] is None
