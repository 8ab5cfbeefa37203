"""SQL for repositories and their collaborators, with visibility-filtered listing/search."""

# ruff: noqa: S608 - interpolated parts are constant column lists and the visibility
# clause from adapters.repository_rows; values always travel as query parameters.

from __future__ import annotations

from ..domain.errors import RepositoryNotFound
from ..domain.model import Collaborator, Principal, Repository
from .base import Store, like_pattern
from .repository_rows import REPOSITORY_COLUMNS, repository_from_row, visible_clause


class PgRepositoryStore(Store):
    def create(
        self, namespace_id: int, namespace: str, name: str, visibility: str, description: str = ""
    ) -> Repository | None:
        """Insert a repository; None when ``namespace/name`` exists already (no abort)."""
        row = self._one(
            "INSERT INTO repositories AS r (namespace_id, full_name, name, visibility,"
            " description) VALUES (%s, %s, %s, %s, %s)"
            f" ON CONFLICT DO NOTHING RETURNING {REPOSITORY_COLUMNS}",
            (namespace_id, f"{namespace}/{name}", name, visibility, description),
        )
        return repository_from_row(row) if row else None

    def find(self, full_name: str, *, for_update: bool = False) -> Repository | None:
        lock = " FOR UPDATE" if for_update else ""
        row = self._one(
            f"SELECT {REPOSITORY_COLUMNS} FROM repositories r WHERE r.full_name = %s{lock}",
            (full_name,),
        )
        return repository_from_row(row) if row else None

    def get(self, full_name: str) -> Repository:
        repository = self.find(full_name)
        if repository is None:
            raise RepositoryNotFound(full_name)
        return repository

    def find_many(self, full_names: list[str]) -> dict[str, Repository]:
        """Return ``{full_name: repository}`` for those of ``full_names`` that exist."""
        rows = self._all(
            f"SELECT {REPOSITORY_COLUMNS} FROM repositories r WHERE r.full_name = ANY(%s)",
            (list(full_names),),
        )
        return {repo.full_name: repo for repo in map(repository_from_row, rows)}

    def list_visible(
        self,
        principal: Principal,
        *,
        namespace_id: int | None = None,
        query: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[Repository]:
        """Repositories visible to ``principal`` ordered by full name (keyset ``after``).

        ``query`` matches a substring of the full name or description (trigram-indexed,
        LIKE wildcards in it are literal).
        """
        clause, params = visible_clause(principal)
        params.update(
            ns=namespace_id, after=after, limit=limit, q=like_pattern(query) if query else None
        )
        rows = self._all(
            f"SELECT {REPOSITORY_COLUMNS} FROM repositories r WHERE {clause}"
            " AND (%(ns)s::bigint IS NULL OR r.namespace_id = %(ns)s)"
            " AND (%(q)s::text IS NULL OR r.full_name ILIKE %(q)s OR r.description ILIKE %(q)s)"
            " AND (%(after)s::text IS NULL OR r.full_name > %(after)s)"
            " ORDER BY r.full_name LIMIT %(limit)s",
            params,
        )
        return [repository_from_row(row) for row in rows]

    def set_visibility(self, repository_id: int, visibility: str) -> None:
        self._exec(
            "UPDATE repositories SET visibility = %s, updated_at = now() WHERE id = %s",
            (visibility, repository_id),
        )

    def set_description(self, repository_id: int, description: str) -> None:
        self._exec(
            "UPDATE repositories SET description = %s, updated_at = now() WHERE id = %s",
            (description, repository_id),
        )

    def readme(self, repository_id: int) -> str:
        """The README (read apart from the row: lists and search never carry it)."""
        row = self._one("SELECT readme FROM repositories WHERE id = %s", (repository_id,))
        return row[0] if row else ""

    def set_readme(self, repository_id: int, readme: str) -> None:
        self._exec(
            "UPDATE repositories SET readme = %s, updated_at = now() WHERE id = %s",
            (readme, repository_id),
        )

    def set_status(self, repository_id: int, status: str) -> None:
        self._exec(
            "UPDATE repositories SET status = %s, updated_at = now() WHERE id = %s",
            (status, repository_id),
        )

    def delete(self, repository_id: int) -> None:
        """Delete the repository and every record of it (tags, manifests, stars, ...)."""
        self._exec("DELETE FROM repositories WHERE id = %s", (repository_id,))

    # -- collaborators --------------------------------------------------------------------

    def set_collaborator(self, repository_id: int, user_id: int, role: str) -> None:
        self._exec(
            "INSERT INTO collaborators (repository_id, user_id, role) VALUES (%s, %s, %s)"
            " ON CONFLICT (repository_id, user_id) DO UPDATE SET role = EXCLUDED.role",
            (repository_id, user_id, role),
        )

    def remove_collaborator(self, repository_id: int, user_id: int) -> bool:
        return bool(
            self._exec(
                "DELETE FROM collaborators WHERE repository_id = %s AND user_id = %s",
                (repository_id, user_id),
            )
        )

    def collaborators(self, repository_id: int) -> list[Collaborator]:
        rows = self._all(
            "SELECT c.repository_id, c.user_id, u.username, c.role FROM collaborators c"
            " JOIN users u ON u.id = c.user_id WHERE c.repository_id = %s ORDER BY u.username",
            (repository_id,),
        )
        return [Collaborator(*row) for row in rows]
