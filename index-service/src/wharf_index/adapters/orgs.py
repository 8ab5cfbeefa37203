"""SQL for organisations, their members, teams, team members and team repository grants."""

# ruff: noqa: S608 - interpolated parts are this module's constant column lists; values
# always travel as query parameters.

from __future__ import annotations

from ..domain.errors import OrganisationNotFound, TeamNotFound
from ..domain.model import Organisation, OrgMember, Team
from .base import Store

_ORG = "o.id, n.name, o.namespace_id, o.email, o.created_at"
_TEAM = "t.id, t.org_id, t.name, t.role, t.all_repositories, t.description"


class PgOrgStore(Store):
    def create(self, namespace_id: int, email: str | None = None) -> Organisation:
        row = self._one(
            "WITH o AS (INSERT INTO organisations (namespace_id, email) VALUES (%s, %s)"
            " RETURNING *)"
            f" SELECT {_ORG} FROM o JOIN namespaces n ON n.id = o.namespace_id",
            (namespace_id, email),
        )
        return Organisation(*row)

    def find(self, name: str) -> Organisation | None:
        row = self._one(
            f"SELECT {_ORG} FROM organisations o JOIN namespaces n ON n.id = o.namespace_id"
            " WHERE n.name = %s",
            (name,),
        )
        return Organisation(*row) if row else None

    def get(self, name: str) -> Organisation:
        org = self.find(name)
        if org is None:
            raise OrganisationNotFound(name)
        return org

    def list(self, *, after: str | None = None, limit: int = 100) -> list[Organisation]:
        rows = self._all(
            f"SELECT {_ORG} FROM organisations o JOIN namespaces n ON n.id = o.namespace_id"
            " WHERE (%s::text IS NULL OR n.name > %s) ORDER BY n.name LIMIT %s",
            (after, after, limit),
        )
        return [Organisation(*row) for row in rows]

    # -- members --------------------------------------------------------------------------

    def add_member(self, org_id: int, user_id: int, *, is_owner: bool = False) -> None:
        """Add (or update) a member; an existing owner stays owner unless ``is_owner`` set."""
        self._exec(
            "INSERT INTO org_members (org_id, user_id, is_owner) VALUES (%s, %s, %s)"
            " ON CONFLICT (org_id, user_id) DO UPDATE"
            " SET is_owner = org_members.is_owner OR EXCLUDED.is_owner",
            (org_id, user_id, is_owner),
        )

    def set_owner(self, org_id: int, user_id: int, is_owner: bool) -> bool:
        return bool(
            self._exec(
                "UPDATE org_members SET is_owner = %s WHERE org_id = %s AND user_id = %s",
                (is_owner, org_id, user_id),
            )
        )

    def remove_member(self, org_id: int, user_id: int) -> bool:
        """Remove the member from the organisation and from all of its teams."""
        self._exec(
            "DELETE FROM team_members WHERE user_id = %s"
            " AND team_id IN (SELECT id FROM teams WHERE org_id = %s)",
            (user_id, org_id),
        )
        return bool(
            self._exec(
                "DELETE FROM org_members WHERE org_id = %s AND user_id = %s", (org_id, user_id)
            )
        )

    def members(self, org_id: int) -> list[OrgMember]:
        rows = self._all(
            "SELECT u.id, u.username, m.is_owner FROM org_members m JOIN users u"
            " ON u.id = m.user_id WHERE m.org_id = %s ORDER BY u.username",
            (org_id,),
        )
        return [OrgMember(*row) for row in rows]

    def count_owners(self, org_id: int) -> int:
        row = self._one(
            "SELECT count(*) FROM org_members WHERE org_id = %s AND is_owner", (org_id,)
        )
        return int(row[0])

    def solely_owned_by(self, user_id: int) -> list[str]:
        """Names of organisations whose only owner is ``user_id``."""
        rows = self._all(
            "SELECT n.name FROM org_members m JOIN organisations o ON o.id = m.org_id"
            " JOIN namespaces n ON n.id = o.namespace_id WHERE m.user_id = %s AND m.is_owner"
            " AND NOT EXISTS (SELECT 1 FROM org_members x WHERE x.org_id = m.org_id"
            " AND x.is_owner AND x.user_id <> m.user_id) ORDER BY n.name",
            (user_id,),
        )
        return [row[0] for row in rows]

    def names_of_member(self, user_id: int) -> list[str]:
        """Names of the organisations ``user_id`` belongs to, by name."""
        rows = self._all(
            "SELECT n.name FROM org_members m JOIN organisations o ON o.id = m.org_id"
            " JOIN namespaces n ON n.id = o.namespace_id WHERE m.user_id = %s ORDER BY n.name",
            (user_id,),
        )
        return [row[0] for row in rows]

    # -- teams ----------------------------------------------------------------------------

    def create_team(
        self, org_id: int, name: str, role: str, *, all_repositories: bool, description: str = ""
    ) -> Team | None:
        """Insert a team; None when the organisation already has one of that name."""
        row = self._one(
            "INSERT INTO teams AS t (org_id, name, role, all_repositories, description)"
            f" VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING {_TEAM}",
            (org_id, name, role, all_repositories, description),
        )
        return Team(*row) if row else None

    def get_team(self, org_id: int, name: str) -> Team:
        row = self._one(
            f"SELECT {_TEAM} FROM teams t WHERE t.org_id = %s AND t.name = %s", (org_id, name)
        )
        if row is None:
            raise TeamNotFound(name)
        return Team(*row)

    def teams(self, org_id: int) -> list[Team]:
        rows = self._all(
            f"SELECT {_TEAM} FROM teams t WHERE t.org_id = %s ORDER BY t.name", (org_id,)
        )
        return [Team(*row) for row in rows]

    def update_team(self, team_id: int, *, role: str, all_repositories: bool) -> None:
        self._exec(
            "UPDATE teams SET role = %s, all_repositories = %s WHERE id = %s",
            (role, all_repositories, team_id),
        )

    def delete_team(self, team_id: int) -> None:
        self._exec("DELETE FROM teams WHERE id = %s", (team_id,))

    def add_team_member(self, team_id: int, user_id: int) -> None:
        self._exec(
            "INSERT INTO team_members (team_id, user_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (team_id, user_id),
        )

    def remove_team_member(self, team_id: int, user_id: int) -> bool:
        return bool(
            self._exec(
                "DELETE FROM team_members WHERE team_id = %s AND user_id = %s", (team_id, user_id)
            )
        )

    def team_members(self, team_id: int) -> list[str]:
        rows = self._all(
            "SELECT u.username FROM team_members m JOIN users u ON u.id = m.user_id"
            " WHERE m.team_id = %s ORDER BY u.username",
            (team_id,),
        )
        return [row[0] for row in rows]

    def grant_repository(self, team_id: int, repository_id: int) -> None:
        self._exec(
            "INSERT INTO team_repositories (team_id, repository_id) VALUES (%s, %s)"
            " ON CONFLICT DO NOTHING",
            (team_id, repository_id),
        )

    def revoke_repository(self, team_id: int, repository_id: int) -> bool:
        return bool(
            self._exec(
                "DELETE FROM team_repositories WHERE team_id = %s AND repository_id = %s",
                (team_id, repository_id),
            )
        )

    def team_repositories(self, team_id: int) -> list[str]:
        rows = self._all(
            "SELECT r.full_name FROM team_repositories g JOIN repositories r"
            " ON r.id = g.repository_id WHERE g.team_id = %s ORDER BY r.full_name",
            (team_id,),
        )
        return [row[0] for row in rows]
