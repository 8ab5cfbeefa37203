"""SQL for access tokens (personal and robot): hashed secrets, scopes, expiry, revocation."""

# ruff: noqa: S608 - interpolated parts are this module's constant column lists; values
# always travel as query parameters.

from __future__ import annotations

from datetime import datetime

from psycopg2.extras import Json

from ..domain.errors import AccessTokenNotFound
from ..domain.model import AccessToken, TokenScope
from .base import Store

_COLUMNS = (
    "t.id, t.public_id, t.user_id, t.name, t.scopes, t.created_at, t.expires_at,"
    " t.revoked_at, t.last_used_at"
)
# last_used_at is written at most once per this many seconds per token (saves writes).
LAST_USED_RESOLUTION = 60


def _token(row: tuple) -> AccessToken:
    tid, public_id, user_id, name, scopes, *times = row
    return AccessToken(
        tid, public_id, user_id, name, tuple(TokenScope.from_dict(s) for s in scopes), *times
    )


class PgAccessTokenStore(Store):
    def create(
        self,
        public_id: str,
        user_id: int,
        name: str,
        secret_hash: bytes,
        scopes: tuple[TokenScope, ...],
        expires_at: datetime | None,
        created_by: int | None,
    ) -> AccessToken:
        row = self._one(
            "INSERT INTO access_tokens AS t (public_id, user_id, name, secret_hash, scopes,"
            " expires_at, created_by) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            f" RETURNING {_COLUMNS}",
            (
                public_id,
                user_id,
                name,
                secret_hash,
                Json([s.to_dict() for s in scopes]),
                expires_at,
                created_by,
            ),
        )
        return _token(row)

    def with_hash(self, public_id: str) -> tuple[AccessToken, bytes] | None:
        """Return (token, stored secret hash) for ``public_id``, or None."""
        row = self._one(
            f"SELECT {_COLUMNS}, t.secret_hash FROM access_tokens t WHERE t.public_id = %s",
            (public_id,),
        )
        return (_token(row[:-1]), bytes(row[-1])) if row else None

    def get(self, token_id: int) -> AccessToken:
        row = self._one(f"SELECT {_COLUMNS} FROM access_tokens t WHERE t.id = %s", (token_id,))
        if row is None:
            raise AccessTokenNotFound(token_id)
        return _token(row)

    def list_for_user(self, user_id: int) -> list[AccessToken]:
        rows = self._all(
            f"SELECT {_COLUMNS} FROM access_tokens t WHERE t.user_id = %s ORDER BY t.id",
            (user_id,),
        )
        return [_token(row) for row in rows]

    def revoke(self, token_id: int) -> bool:
        """Mark revoked (idempotent); revoke the registry tokens issued through it too."""
        self._exec(
            "UPDATE issued_tokens SET revoked_at = now()"
            " WHERE access_token_id = %s AND revoked_at IS NULL",
            (token_id,),
        )
        return bool(
            self._exec(
                "UPDATE access_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = %s",
                (token_id,),
            )
        )

    def touch(self, token_id: int) -> None:
        """Record use now (skipped when recorded less than LAST_USED_RESOLUTION s ago)."""
        self._exec(
            "UPDATE access_tokens SET last_used_at = now() WHERE id = %s AND (last_used_at"
            " IS NULL OR last_used_at < now() - make_interval(secs => %s))",
            (token_id, LAST_USED_RESOLUTION),
        )

    def now(self) -> datetime:
        """The database's clock (expiry is judged by it, as it is the one writing times)."""
        return self._one("SELECT now()")[0]
