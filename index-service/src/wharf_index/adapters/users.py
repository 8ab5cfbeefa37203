"""SQL for users and robots."""

# ruff: noqa: S608 - interpolated parts are this module's constant column lists; values
# always travel as query parameters.

from __future__ import annotations

import psycopg2.errors

from ..domain.errors import UserNotFound
from ..domain.model import User
from .base import Store

_COLUMNS = (
    "u.id, u.username, u.email, u.is_admin, u.is_robot, u.namespace_id, u.robot_owner_id,"
    " u.disabled, u.created_at, u.credential_epoch"
)


class PgUserStore(Store):
    def create(
        self,
        username: str,
        email: str | None,
        password_hash: str | None,
        namespace_id: int,
        *,
        is_admin: bool = False,
    ) -> User | None:
        """Insert a human user; None when the username or email is taken (no abort)."""
        row = self._one(
            "INSERT INTO users AS u (username, email, password_hash, namespace_id, is_admin,"
            " password_changed_at) VALUES (%s, %s, %s, %s, %s, now())"
            f" ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
            (username, email, password_hash, namespace_id, is_admin),
        )
        return User(*row) if row else None

    def create_robot(self, username: str, owner_namespace_id: int) -> User | None:
        """Insert a robot owned by a namespace; None when the name is taken."""
        row = self._one(
            "INSERT INTO users AS u (username, is_robot, robot_owner_id) VALUES (%s, true, %s)"
            f" ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
            (username, owner_namespace_id),
        )
        return User(*row) if row else None

    def find(self, username: str) -> User | None:
        row = self._one(f"SELECT {_COLUMNS} FROM users u WHERE u.username = %s", (username,))
        return User(*row) if row else None

    def get(self, username: str) -> User:
        """Return the user called ``username``; UserNotFound otherwise."""
        user = self.find(username)
        if user is None:
            raise UserNotFound(username)
        return user

    def by_id(self, user_id: int) -> User:
        row = self._one(f"SELECT {_COLUMNS} FROM users u WHERE u.id = %s", (user_id,))
        if row is None:
            raise UserNotFound(user_id)
        return User(*row)

    def email_taken(self, email: str) -> bool:
        row = self._one("SELECT 1 FROM users WHERE lower(email) = lower(%s)", (email,))
        return row is not None

    def credentials(self, username: str) -> tuple[User, str | None] | None:
        """Return (user, password hash) for ``username``, or None."""
        row = self._one(
            f"SELECT {_COLUMNS}, u.password_hash FROM users u WHERE u.username = %s",
            (username,),
        )
        return (User(*row[:-1]), row[-1]) if row else None

    def list(
        self,
        *,
        after: str | None = None,
        limit: int = 100,
        robots: bool = False,
        containing: str | None = None,
    ) -> list[User]:
        """Users ordered by username, keyset-paginated (``after`` = last username seen);
        ``containing``: only names holding that text (case-insensitively)."""
        rows = self._all(
            f"SELECT {_COLUMNS} FROM users u WHERE (%s::text IS NULL OR u.username > %s)"
            " AND (%s OR NOT u.is_robot)"
            " AND (%s::text IS NULL OR strpos(lower(u.username), lower(%s)) > 0)"
            " ORDER BY u.username LIMIT %s",
            (after, after, robots, containing, containing, limit),
        )
        return [User(*row) for row in rows]

    def robots_of(self, namespace_id: int) -> list[User]:
        rows = self._all(
            f"SELECT {_COLUMNS} FROM users u WHERE u.robot_owner_id = %s ORDER BY u.username",
            (namespace_id,),
        )
        return [User(*row) for row in rows]

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        self._exec(
            "UPDATE users SET password_hash = %s, password_changed_at = now() WHERE id = %s",
            (password_hash, user_id),
        )

    def bump_credential_epoch(self, user_id: int) -> None:
        """End the user's sessions and refresh tokens: their epoch no longer matches."""
        self._exec(
            "UPDATE users SET credential_epoch = credential_epoch + 1 WHERE id = %s", (user_id,)
        )

    def set_email(self, user_id: int, email: str) -> bool:
        """Give the user ``email``; False (nothing changed, the transaction goes on) when
        another user holds it in any case (the unique index users_email_key decides, so two
        concurrent changes to one address cannot both succeed)."""
        with self.conn.cursor() as cur:
            cur.execute("SAVEPOINT set_email")
            try:
                cur.execute("UPDATE users SET email = %s WHERE id = %s", (email, user_id))
            except psycopg2.errors.UniqueViolation:
                cur.execute("ROLLBACK TO SAVEPOINT set_email")
                return False
            cur.execute("RELEASE SAVEPOINT set_email")
            return True

    def set_admin(self, user_id: int, is_admin: bool) -> None:
        self._exec("UPDATE users SET is_admin = %s WHERE id = %s", (is_admin, user_id))

    def set_disabled(self, user_id: int, disabled: bool) -> None:
        self._exec("UPDATE users SET disabled = %s WHERE id = %s", (disabled, user_id))

    def count_admins(self) -> int:
        row = self._one("SELECT count(*) FROM users WHERE is_admin AND NOT disabled")
        return int(row[0])

    def delete(self, user_id: int) -> None:
        """Delete the user; its namespace (and repositories) go with it when it has one."""
        self._exec(
            "DELETE FROM namespaces WHERE id = (SELECT namespace_id FROM users WHERE id = %s)",
            (user_id,),
        )
        self._exec("DELETE FROM users WHERE id = %s", (user_id,))
