"""SQL for each repository's tag rules (table ``repository_tag_rules``, migration 0015):
immutable tag patterns and retention rules, one row per repository that has any (the row
goes with the repository: ON DELETE CASCADE)."""

from __future__ import annotations

from ..domain.records import TagRules
from .base import Store

_COLUMNS = "immutable, keep_newest, keep_patterns, max_age_days"


def _rules(row: tuple) -> TagRules:
    immutable, keep_newest, keep_patterns, max_age_days = row
    return TagRules(tuple(immutable), keep_newest, tuple(keep_patterns), max_age_days)


class PgTagRuleStore(Store):
    def get(self, repository_id: int) -> TagRules:
        """The repository's rules (no rules when it has no row)."""
        row = self._one(
            f"SELECT {_COLUMNS} FROM repository_tag_rules WHERE repository_id = %s",  # noqa: S608
            (repository_id,),
        )
        return _rules(row) if row else TagRules()

    def many(self, repository_ids: list[int]) -> dict[int, TagRules]:
        """``{repository id: rules}`` of those of ``repository_ids`` with a row."""
        if not repository_ids:
            return {}
        rows = self._all(
            f"SELECT repository_id, {_COLUMNS} FROM repository_tag_rules"  # noqa: S608
            " WHERE repository_id = ANY(%s)",
            (list(repository_ids),),
        )
        return {row[0]: _rules(row[1:]) for row in rows}

    def immutable_of(self, full_names: list[str]) -> dict[str, tuple[str, ...]]:
        """``{full name: immutable patterns}`` of those of ``full_names`` that have some
        (one statement: the token endpoint asks for every push or delete token)."""
        rows = self._all(
            "SELECT r.full_name, x.immutable FROM repositories r"
            " JOIN repository_tag_rules x ON x.repository_id = r.id"
            " WHERE r.full_name = ANY(%s) AND cardinality(x.immutable) > 0",
            (list(full_names),),
        )
        return {name: tuple(patterns) for name, patterns in rows}

    def set_immutable(self, repository_id: int, patterns: tuple[str, ...]) -> None:
        self._exec(
            "INSERT INTO repository_tag_rules (repository_id, immutable) VALUES (%s, %s)"
            " ON CONFLICT (repository_id) DO UPDATE SET immutable = EXCLUDED.immutable,"
            " updated_at = now()",
            (repository_id, list(patterns)),
        )

    def set_retention(
        self,
        repository_id: int,
        *,
        keep_newest: int | None,
        keep_patterns: tuple[str, ...],
        max_age_days: int | None,
    ) -> None:
        self._exec(
            "INSERT INTO repository_tag_rules (repository_id, keep_newest, keep_patterns,"
            " max_age_days) VALUES (%s, %s, %s, %s) ON CONFLICT (repository_id) DO UPDATE SET"
            " keep_newest = EXCLUDED.keep_newest, keep_patterns = EXCLUDED.keep_patterns,"
            " max_age_days = EXCLUDED.max_age_days, updated_at = now()",
            (repository_id, keep_newest, list(keep_patterns), max_age_days),
        )

    def with_retention(self) -> list[str]:
        """Full names of the active repositories with a retention rule set, by name."""
        rows = self._all(
            "SELECT r.full_name FROM repository_tag_rules x"
            " JOIN repositories r ON r.id = x.repository_id WHERE r.status = 'active'"
            " AND (x.keep_newest IS NOT NULL OR x.max_age_days IS NOT NULL)"
            " ORDER BY r.full_name"
        )
        return [name for (name,) in rows]
