"""``/api/v1/invitations``: administrators make (token shown once), list and revoke
invitations; the token is stored hashed; each step is audited; a link makes one account."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from wharf_index.domain import errors
from wharf_index.services import invitations

from tests.api.conftest import API, basic
from tests.conftest import PASSWORD


def test_administrators_make_list_and_revoke_invitations(client, users, sql):
    created = client.post(
        f"{API}/invitations",
        json={"email": "zed@example.test", "expires_in_days": 3},
        headers=basic("carol"),
    )
    assert created.status_code == 201, created.json
    token = created.json["token"]
    assert created.json["link"] == f"http://127.0.0.1:5001/signup?invite={token}"
    made = created.json["invitation"]
    assert made["email"] == "zed@example.test" and made["created_by"] == "carol"
    assert made["used_at"] is None and made["revoked_at"] is None

    [(stored,)] = sql("SELECT token_hash FROM invitations")
    assert bytes(stored) == hmac.new(invitations.PURPOSE, token.encode(), hashlib.sha256).digest()
    listed = client.get(f"{API}/invitations", headers=basic("carol")).json
    assert [i["id"] for i in listed["items"]] == [made["id"]]
    assert token not in str(listed)

    assert (
        client.delete(f"{API}/invitations/{made['id']}", headers=basic("carol")).status_code == 204
    )
    assert (
        client.delete(f"{API}/invitations/{made['id']}", headers=basic("carol")).status_code == 204
    )
    gone = client.delete(f"{API}/invitations/999999", headers=basic("carol"))
    assert gone.status_code == 404 and gone.json["error"]["code"] == "INVITATION_UNKNOWN"
    listed = client.get(f"{API}/invitations", headers=basic("carol")).json
    assert listed["items"][0]["revoked_at"] is not None
    actions = sql("SELECT action, target FROM audit_log WHERE target_type = 'invitation'")
    assert sorted(actions) == [
        ("invitation.create", str(made["id"])),
        ("invitation.revoke", str(made["id"])),
    ]


@pytest.mark.parametrize(
    "body", [{"email": "not an address"}, {"expires_in_days": 0}, {"expires_in_days": "7"}]
)
def test_bad_invitations_are_refused(client, users, body):
    response = client.post(f"{API}/invitations", json=body, headers=basic("carol"))
    assert response.status_code == 400
    assert response.json["error"]["code"] == "VALIDATION_FAILED"


def test_only_administrators_see_invitations(client, users):
    for headers in (basic("alice"), {}):
        assert client.get(f"{API}/invitations", headers=headers).status_code in (401, 403)


def test_a_link_makes_one_account(uow, users, sql):
    from wharf_index.services import principals

    admin = principals.principal_for(uow, users["carol"])
    _, token = invitations.create_invitation(uow, admin)
    user = invitations.redeem_invitation(uow, token, "zed", "zed@example.test", PASSWORD)
    assert user.username == "zed" and not user.is_admin
    with pytest.raises(errors.InvitationInvalid):
        invitations.redeem_invitation(uow, token, "zoe", "zoe@example.test", PASSWORD)
    with pytest.raises(errors.InvitationInvalid):
        invitations.check_invitation(uow, token)
    assert sql("SELECT count(*) FROM users WHERE username = 'zoe'") == [(0,)]
    [(used_by,)] = sql("SELECT u.username FROM invitations i JOIN users u ON u.id = i.used_by")
    assert used_by == "zed"
