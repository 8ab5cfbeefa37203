"""SQL for the record of issued registry/refresh tokens (revocation and "never issued").

Recording a token is the token endpoint's only write, on every request; its commit need not
wait for the WAL flush (services/tokens.py says why losing the last records in a crash is
acceptable). :meth:`PgIssuedTokenStore.record` therefore turns ``synchronous_commit`` off for
its transaction -- but only when that transaction has written nothing before (no
transaction id assigned yet), so a repository allocated by the same request, and its audit
row, still commit durably. Writes after the record share its commit: record last. Outside a
transaction (autocommit, ``uow.reading()``: the token endpoint's usual case) the record is a
transaction of its own, committed the same way.
"""

# ruff: noqa: S608 - interpolated parts are this module's constant column lists; values
# always travel as query parameters.

from __future__ import annotations

from datetime import datetime

from psycopg2.extras import Json

from ..domain.records import IssuedToken
from .base import Prepared, Store

_COLUMNS = (
    "jti, kind, subject, user_id, access_token_id, audience, issued_at, expires_at, revoked_at"
)
# The set_config goes in the same message: in autocommit the message is one implicit
# transaction, so it covers the INSERT (and only it).
_RECORD = Prepared(
    "wharf_record_token",
    "INSERT INTO issued_tokens (jti, kind, subject, user_id, access_token_id, audience,"
    " access, issued_at, expires_at) VALUES (%(jti)s, %(kind)s, %(subject)s, %(user_id)s,"
    " %(access_token_id)s, %(audience)s, %(access)s, coalesce(%(issued_at)s, now()),"
    " %(expires_at)s)",
    prefix="SELECT set_config('synchronous_commit', 'off', true)"
    " WHERE txid_current_if_assigned() IS NULL; ",
)


class PgIssuedTokenStore(Store):
    def record(
        self,
        jti: str,
        *,
        subject: str,
        audience: str,
        expires_at: datetime,
        access: list | None = None,
        kind: str = "access",
        user_id: int | None = None,
        access_token_id: int | None = None,
        issued_at: datetime | None = None,
    ) -> None:
        """Remember an issued token (``access``: the JSON-ready granted scopes); the commit
        does not wait for the WAL flush unless the transaction wrote before (module doc).
        One round trip, a prepared statement; in autocommit (``uow.reading()``) it is a
        transaction of its own."""
        self._prepared(
            _RECORD,
            {
                "jti": jti,
                "kind": kind,
                "subject": subject,
                "user_id": user_id,
                "access_token_id": access_token_id,
                "audience": audience,
                "access": Json(access or []),
                "issued_at": issued_at,
                "expires_at": expires_at,
            },
        )

    def find(self, jti: str) -> IssuedToken | None:
        row = self._one(f"SELECT {_COLUMNS} FROM issued_tokens WHERE jti = %s", (jti,))
        return IssuedToken(*row) if row else None

    def revoke(self, jti: str) -> bool:
        return bool(
            self._exec(
                "UPDATE issued_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE jti = %s",
                (jti,),
            )
        )

    def revoke_for_user(self, user_id: int) -> int:
        """Revoke every unexpired token of a user (password change, disable, delete)."""
        return self._exec(
            "UPDATE issued_tokens SET revoked_at = now() WHERE user_id = %s"
            " AND revoked_at IS NULL AND expires_at > now()",
            (user_id,),
        )

    def prune_expired(self, grace_seconds: int, limit: int) -> int:
        """Delete up to ``limit`` records of tokens expired more than ``grace_seconds`` ago;
        return how many were deleted."""
        return self._exec(
            "DELETE FROM issued_tokens WHERE ctid = ANY(ARRAY(SELECT ctid FROM issued_tokens"
            " WHERE expires_at < now() - make_interval(secs => %(grace)s) LIMIT %(limit)s))"
            " AND expires_at < now() - make_interval(secs => %(grace)s)",
            {"grace": grace_seconds, "limit": limit},
        )

    def count_expired(self, grace_seconds: int) -> int:
        """How many records :meth:`prune_expired` would delete in all."""
        row = self._one(
            "SELECT count(*) FROM issued_tokens"
            " WHERE expires_at < now() - make_interval(secs => %s)",
            (grace_seconds,),
        )
        return int(row[0])
