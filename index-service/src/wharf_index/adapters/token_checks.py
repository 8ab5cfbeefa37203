"""SQL for the token authority's hot paths: one indexed query each.

- :meth:`PgTokenCheckStore.credential_state`: is a cached credential still good? (the user's
  password generation, credential epoch, disabled flag, the access token's state and,
  when asked, the lock-out of a (name, client address)).
- :meth:`PgTokenCheckStore.verification`: the registry's credential hash and the issued-token
  record of a ``jti`` in one round trip (token verification for registries).
"""

from __future__ import annotations

from ..domain.model import TokenScope, User
from ..domain.records import CredentialState, Verification
from .base import Store

_CREDENTIAL_STATE = """
SELECT u.id, u.username, u.email, u.is_admin, u.is_robot, u.namespace_id, u.robot_owner_id,
       u.disabled, u.created_at, u.credential_epoch, u.password_changed_at,
       t.id IS NOT NULL AND t.revoked_at IS NULL
           AND (t.expires_at IS NULL OR t.expires_at > now()),
       t.scopes,
       (SELECT ceil(extract(epoch FROM f.locked_until - now())) FROM login_failures f
         WHERE f.name_hash = %(name_hash)s AND f.address = %(address)s
           AND f.locked_until > now())
  FROM users u
  LEFT JOIN access_tokens t ON t.id = %(token)s AND t.user_id = u.id
 WHERE {where}
"""

_VERIFICATION = """
SELECT g.id, g.name, g.credential_hash, t.kind, t.audience, t.revoked_at IS NOT NULL,
       t.expires_at
  FROM registries g
  LEFT JOIN issued_tokens t ON t.jti = %(jti)s
 WHERE g.name = %(name)s
"""


class PgTokenCheckStore(Store):
    def credential_state(
        self,
        user_id: int | None = None,
        access_token_id: int | None = None,
        *,
        username: str | None = None,
        name_hash: bytes | None = None,
        address: str | None = None,
    ) -> CredentialState | None:
        """Return the state a cached credential is checked against (the user by id, or by
        ``username``), or None when there is no such user. With ``name_hash`` and
        ``address``, ``locked_for`` says how long that (name, address) is locked out."""
        where = "u.id = %(user)s" if username is None else "u.username = %(name)s"
        row = self._one(
            _CREDENTIAL_STATE.format(where=where),
            {
                "user": user_id,
                "name": username,
                "token": access_token_id,
                "name_hash": name_hash,
                "address": address,
            },
        )
        if row is None:
            return None
        uid, username, email, admin, robot, ns_id, owner_id, disabled, created, epoch = row[:10]
        user = User(
            id=uid,
            username=username,
            email=email,
            is_admin=admin,
            is_robot=robot,
            namespace_id=ns_id,
            robot_owner_id=owner_id,
            disabled=disabled,
            created_at=created,
            credential_epoch=epoch,
        )
        scopes = tuple(TokenScope.from_dict(s) for s in row[12]) if row[12] is not None else None
        return CredentialState(user, row[10], bool(row[11]), scopes, int(row[13] or 0))

    def verification(self, registry_name: str, jti: str | None) -> Verification | None:
        """Return the registry called ``registry_name`` with the record of ``jti``; None for
        an unknown registry. Token fields are None when ``jti`` was never issued."""
        row = self._one(_VERIFICATION, {"name": registry_name, "jti": jti})
        if row is None:
            return None
        rid, name, credential_hash, kind, audience, revoked, expires_at = row
        return Verification(
            rid, name, bytes(credential_hash), kind, audience, bool(revoked), expires_at
        )

    def audience(self, service: str) -> tuple[int, str, list[str]] | None:
        """Return (id, name, served namespaces) of the registry called ``service`` (None if
        unknown; an empty list: it declared none). One round trip."""
        return self._one(
            "SELECT r.id, r.name, coalesce((SELECT array_agg(n.namespace)"
            " FROM registry_namespaces n WHERE n.registry_id = r.id), '{}')"
            " FROM registries r WHERE r.name = %s",
            (service,),
        )
