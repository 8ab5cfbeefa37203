"""SQL for the token signing keys (table of migration 0013).

One active key at most: the partial unique index ``signing_keys_one_active`` makes a second
``INSERT`` of an active key a conflict, which :meth:`PgSigningKeyStore.add_active` turns into
"nothing stored" (``ON CONFLICT DO NOTHING``), so concurrent first starts keep one key.
"""

# ruff: noqa: S608 - the interpolated column list is this module's constant.

from __future__ import annotations

from ..domain.records import SigningKeyRecord
from .base import Store

_COLUMNS = "kid, algorithm, private_pem, certificate_pem, created_at, retired_at, published_until"


def _record(row: tuple) -> SigningKeyRecord:
    kid, algorithm, private_pem, certificate_pem, *times = row
    return SigningKeyRecord(kid, algorithm, private_pem.encode(), certificate_pem.encode(), *times)


class PgSigningKeyStore(Store):
    def active(self) -> SigningKeyRecord | None:
        row = self._one(f"SELECT {_COLUMNS} FROM signing_keys WHERE retired_at IS NULL")
        return _record(row) if row else None

    def published(self) -> list[SigningKeyRecord]:
        """The active key and the retired ones still published, oldest first."""
        rows = self._all(
            f"SELECT {_COLUMNS} FROM signing_keys"
            " WHERE retired_at IS NULL OR published_until > now() ORDER BY created_at, kid"
        )
        return [_record(row) for row in rows]

    def add_active(
        self, kid: str, algorithm: str, private_pem: bytes, certificate_pem: bytes
    ) -> bool:
        """Store a new active key; False (nothing stored) when there already is one."""
        return bool(
            self._exec(
                "INSERT INTO signing_keys (kid, algorithm, private_pem, certificate_pem)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (kid, algorithm, private_pem.decode(), certificate_pem.decode()),
            )
        )

    def retire_active(self, published_for: int) -> str | None:
        """Retire the active key, published ``published_for`` seconds more; its kid."""
        row = self._one(
            "UPDATE signing_keys SET retired_at = now(),"
            " published_until = now() + make_interval(secs => %s)"
            " WHERE retired_at IS NULL RETURNING kid",
            (published_for,),
        )
        return row[0] if row else None

    def prune_unpublished(self) -> int:
        """Delete the retired keys past their ``published_until``; return how many."""
        return self._exec("DELETE FROM signing_keys WHERE published_until <= now()")

    def count_unpublished(self) -> int:
        row = self._one("SELECT count(*) FROM signing_keys WHERE published_until <= now()")
        return int(row[0])

    def list(self) -> list[SigningKeyRecord]:
        rows = self._all(f"SELECT {_COLUMNS} FROM signing_keys ORDER BY created_at, kid")
        return [_record(row) for row in rows]
