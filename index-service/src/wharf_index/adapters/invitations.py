"""SQL for invitations to sign up (migrations/0022_invitations.sql): hashed tokens only."""

# ruff: noqa: S608 - interpolated parts are this module's constant column lists; values
# always travel as query parameters.

from __future__ import annotations

from datetime import datetime

from ..domain.errors import InvitationNotFound
from ..domain.model import Invitation
from .base import Store

_COLUMNS = (
    "i.id, i.email, c.username, i.created_at, i.expires_at, i.revoked_at, i.used_at, u.username"
)
_FROM = (
    "invitations i LEFT JOIN users c ON c.id = i.created_by LEFT JOIN users u ON u.id = i.used_by"
)


class PgInvitationStore(Store):
    def create(
        self, token_hash: bytes, email: str | None, created_by: int | None, expires_at: datetime
    ) -> Invitation:
        row = self._one(
            "INSERT INTO invitations (token_hash, email, created_by, expires_at)"
            " VALUES (%s, %s, %s, %s) RETURNING id",
            (token_hash, email, created_by, expires_at),
        )
        return self.get(int(row[0]))

    def get(self, invitation_id: int) -> Invitation:
        row = self._one(f"SELECT {_COLUMNS} FROM {_FROM} WHERE i.id = %s", (invitation_id,))
        if row is None:
            raise InvitationNotFound(invitation_id)
        return Invitation(*row)

    def list(self, *, after: int | None = None, limit: int = 100) -> list[Invitation]:
        """Newest first (by id); ``after``: the last id of the previous page."""
        rows = self._all(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE (%s::bigint IS NULL OR i.id < %s)"
            " ORDER BY i.id DESC LIMIT %s",
            (after, after, limit),
        )
        return [Invitation(*row) for row in rows]

    def usable_by_hash(self, token_hash: bytes, *, lock: bool = False) -> Invitation | None:
        """The invitation of ``token_hash`` if it is neither revoked, used nor expired
        (``lock``: FOR UPDATE, so that two redemptions of one link queue)."""
        row = self._one(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE i.token_hash = %s AND i.revoked_at IS NULL"
            " AND i.used_at IS NULL AND i.expires_at > now()"
            + (" FOR UPDATE OF i" if lock else ""),
            (token_hash,),
        )
        return Invitation(*row) if row else None

    def mark_used(self, invitation_id: int, user_id: int) -> None:
        self._exec(
            "UPDATE invitations SET used_at = now(), used_by = %s WHERE id = %s",
            (user_id, invitation_id),
        )

    def revoke(self, invitation_id: int) -> bool:
        """Revoke an unused invitation; False when it was already revoked or used."""
        return bool(
            self._exec(
                "UPDATE invitations SET revoked_at = now()"
                " WHERE id = %s AND revoked_at IS NULL AND used_at IS NULL",
                (invitation_id,),
            )
        )
