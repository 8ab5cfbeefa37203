"""The stores' ports: what the services ask of the records, one Protocol per store.

The unit of work (services/unit_of_work.py) carries one of each (``uow.users``,
``uow.repositories``, ...); adapters/ implements them in SQL (``PgUserStore`` ...), and a
test checks that every implementation has each method here with the same parameters.
A Protocol lists only what the services call. Common contracts:

- ``get``, ``get_team`` and ``by_id`` raise the domain's NotFound of their kind
  (UserNotFound, ...); ``find`` returns None instead;
- a ``create`` whose name may be taken returns None then (no error: the transaction
  goes on);
- listings taking ``after`` continue after that key (the last one of the previous page);
- removals return whether there was something to remove.

Stores run their statements in the unit of work's open transaction; they never commit.
A store's ``list`` comes last in its Protocol: below it, ``list[...]`` in the class body
would name that method to a type checker, not the builtin.
The stores of repositories, what hangs off them and registries are in
domain/repository_stores.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol

from .model import (
    AccessToken,
    Grants,
    Invitation,
    Namespace,
    Organisation,
    OrgMember,
    Team,
    TokenScope,
    User,
)
from .records import (
    AuditEntry,
    AuditRecord,
    CredentialState,
    IssuanceLookup,
    IssuedToken,
    MetricsSnapshot,
    QuotaState,
    SigningKeyRecord,
    Verification,
)


class UserStore(Protocol):
    """``uow.users``: people and robots (password hashes only through ``credentials``)."""

    def create(
        self,
        username: str,
        email: str | None,
        password_hash: str | None,
        namespace_id: int,
        *,
        is_admin: bool = False,
    ) -> User | None: ...
    def create_robot(self, username: str, owner_namespace_id: int) -> User | None: ...
    def find(self, username: str) -> User | None: ...
    def get(self, username: str) -> User: ...
    def by_id(self, user_id: int) -> User: ...
    def email_taken(self, email: str) -> bool: ...

    def credentials(self, username: str) -> tuple[User, str | None] | None:
        """(user, password hash) of ``username``, or None."""

    def robots_of(self, namespace_id: int) -> list[User]: ...
    def set_password_hash(self, user_id: int, password_hash: str) -> None: ...

    def bump_credential_epoch(self, user_id: int) -> None:
        """End the user's sessions and refresh tokens: their epoch no longer matches."""

    def set_email(self, user_id: int, email: str) -> bool:
        """False (nothing changed) when another user holds ``email``, in any case."""

    def set_admin(self, user_id: int, is_admin: bool) -> None: ...
    def set_disabled(self, user_id: int, disabled: bool) -> None: ...

    def delete(self, user_id: int) -> None:
        """Delete the user; its namespace (and repositories) go with it when it has one."""

    def list(
        self,
        *,
        after: str | None = None,
        limit: int = 100,
        robots: bool = False,
        containing: str | None = None,
    ) -> list[User]:
        """By name after ``after``; ``containing``: names holding that text (any case)."""


class LoginFailureStore(Protocol):
    """``uow.login_failures``: failed logins per (hash of the name, client address)."""

    def state(self, name_hash: bytes, address: str) -> tuple[int, int]:
        """(failures recorded, seconds left in the lock-out); (0, 0) for none."""

    def record(
        self, name_hash: bytes, address: str, *, threshold: int, delay: int, max_delay: int
    ) -> tuple[int, datetime | None]:
        """Count one failure atomically; return (failures, locked until)."""

    def reset(self, name_hash: bytes, address: str | None = None) -> None:
        """Forget the failures of a name from ``address`` (from every address: None)."""


class NamespaceStore(Protocol):
    """``uow.namespaces``: the first component of repository names."""

    def create(self, name: str, kind: str, default_visibility: str) -> Namespace | None: ...
    def find(self, name: str) -> Namespace | None: ...
    def get(self, name: str) -> Namespace: ...
    def by_id(self, namespace_id: int) -> Namespace: ...
    def set_default_visibility(self, namespace_id: int, visibility: str) -> None: ...
    def quota(self, namespace_id: int) -> QuotaState: ...
    def set_quota(self, namespace_id: int, limit: int | None) -> None:
        """Choose the namespace's quota (``None``: none, whatever the default)."""

    def clear_quota(self, namespace_id: int) -> None:
        """Forget the chosen quota: the default applies again."""


class OrgStore(Protocol):
    """``uow.orgs``: organisations, their members and owners, teams and team grants."""

    def create(self, namespace_id: int, email: str | None = None) -> Organisation: ...
    def get(self, name: str) -> Organisation: ...

    def add_member(self, org_id: int, user_id: int, *, is_owner: bool = False) -> None:
        """Add (or update) a member; an existing owner stays owner unless ``is_owner``."""

    def set_owner(self, org_id: int, user_id: int, is_owner: bool) -> bool: ...

    def remove_member(self, org_id: int, user_id: int) -> bool:
        """Remove the member from the organisation and from all of its teams."""

    def members(self, org_id: int) -> list[OrgMember]: ...
    def count_owners(self, org_id: int) -> int: ...

    def solely_owned_by(self, user_id: int) -> list[str]:
        """Names of the organisations whose only owner is ``user_id``."""

    def names_of_member(self, user_id: int) -> list[str]:
        """Names of the organisations ``user_id`` belongs to, by name."""

    def create_team(
        self, org_id: int, name: str, role: str, *, all_repositories: bool, description: str = ""
    ) -> Team | None: ...
    def get_team(self, org_id: int, name: str) -> Team: ...
    def teams(self, org_id: int) -> list[Team]: ...
    def update_team(self, team_id: int, *, role: str, all_repositories: bool) -> None: ...
    def delete_team(self, team_id: int) -> None: ...
    def add_team_member(self, team_id: int, user_id: int) -> None: ...
    def remove_team_member(self, team_id: int, user_id: int) -> bool: ...
    def team_members(self, team_id: int) -> list[str]: ...
    def grant_repository(self, team_id: int, repository_id: int) -> None: ...
    def revoke_repository(self, team_id: int, repository_id: int) -> bool: ...
    def team_repositories(self, team_id: int) -> list[str]: ...
    def list(self, *, after: str | None = None, limit: int = 100) -> list[Organisation]: ...


class GrantStore(Protocol):
    """``uow.grants``: the roles a user holds, for the policy."""

    def for_user(self, user_id: int) -> Grants:
        """Every role ``user_id`` holds, the strongest per namespace and repository."""


class InvitationStore(Protocol):
    """``uow.invitations``: invitations to sign up (tokens as hashes)."""

    def create(
        self, token_hash: bytes, email: str | None, created_by: int | None, expires_at: datetime
    ) -> Invitation: ...

    def get(self, invitation_id: int) -> Invitation:
        """The invitation; InvitationNotFound otherwise."""

    def usable_by_hash(self, token_hash: bytes, *, lock: bool = False) -> Invitation | None:
        """The unrevoked, unused, unexpired invitation of ``token_hash`` (``lock``: FOR
        UPDATE), or None."""

    def mark_used(self, invitation_id: int, user_id: int) -> None: ...

    def revoke(self, invitation_id: int) -> bool:
        """Revoke an unused invitation; False when already revoked or used."""

    def list(self, *, after: int | None = None, limit: int = 100) -> list[Invitation]:
        """Newest first; ``after`` is the last id of the previous page."""


class AccessTokenStore(Protocol):
    """``uow.access_tokens``: personal and robot access tokens (secrets as hashes)."""

    def create(
        self,
        public_id: str,
        user_id: int,
        name: str,
        secret_hash: bytes,
        scopes: tuple[TokenScope, ...],
        expires_at: datetime | None,
        created_by: int | None,
    ) -> AccessToken: ...

    def with_hash(self, public_id: str) -> tuple[AccessToken, bytes] | None:
        """(token, stored secret hash) of ``public_id``, or None."""

    def get(self, token_id: int) -> AccessToken: ...
    def list_for_user(self, user_id: int) -> list[AccessToken]: ...

    def revoke(self, token_id: int) -> bool:
        """Mark revoked (idempotent); the registry tokens issued through it too."""

    def touch(self, token_id: int) -> None:
        """Record a use now (coarsely: not on every request)."""

    def now(self) -> datetime:
        """The database's clock (expiry is judged by it, as it writes the times)."""


class IssuedTokenStore(Protocol):
    """``uow.issued_tokens``: the record of issued registry and refresh tokens."""

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
        """Remember an issued token (``access``: the JSON-ready granted scopes). Its
        commit may skip the WAL flush when the transaction wrote nothing before: record
        last."""

    def find(self, jti: str) -> IssuedToken | None: ...

    def revoke_for_user(self, user_id: int) -> int:
        """Revoke every unexpired token of a user; return how many."""

    def prune_expired(self, grace_seconds: int, limit: int) -> int:
        """Delete up to ``limit`` records of tokens expired more than ``grace_seconds``
        ago; return how many were deleted."""

    def count_expired(self, grace_seconds: int) -> int:
        """How many records :meth:`prune_expired` would delete in all."""


class SigningKeyStore(Protocol):
    """``uow.signing_keys``: the token signing keys (at most one active, unretired)."""

    def active(self) -> SigningKeyRecord | None: ...

    def published(self) -> list[SigningKeyRecord]:
        """The active key and the retired ones still published, oldest first."""

    def add_active(
        self, kid: str, algorithm: str, private_pem: bytes, certificate_pem: bytes
    ) -> bool:
        """Store a new active key; False (nothing stored) when there already is one."""

    def retire_active(self, published_for: int) -> str | None:
        """Retire the active key, published ``published_for`` seconds more; its kid, or None
        when there was none."""

    def prune_unpublished(self) -> int:
        """Delete the retired keys past their ``published_until``; return how many."""

    def count_unpublished(self) -> int: ...
    def list(self) -> list[SigningKeyRecord]: ...


class TokenCheckStore(Protocol):
    """``uow.token_checks``: the token authority's hot paths, one indexed query each."""

    def credential_state(
        self,
        user_id: int | None = None,
        access_token_id: int | None = None,
        *,
        username: str | None = None,
        name_hash: bytes | None = None,
        address: str | None = None,
    ) -> CredentialState | None:
        """What a cached credential is checked against (the user by id or by
        ``username``; with ``name_hash`` and ``address`` also that pair's lock-out), or
        None when there is no such user."""

    def revalidation(
        self,
        user_id: int,
        access_token_id: int | None,
        *,
        name_hash: bytes | None,
        address: str | None,
    ) -> CredentialState | None:
        """:meth:`credential_state` of the user ``user_id`` with its ``grants`` (a
        credential-cache hit), in one statement."""

    def revalidation_issuance(
        self,
        user_id: int,
        access_token_id: int | None,
        *,
        name_hash: bytes | None,
        address: str | None,
        service: str,
        names: list[str],
    ) -> tuple[CredentialState | None, IssuanceLookup | None]:
        """:meth:`revalidation` and :meth:`issuance` together, in one statement."""

    def issuance(self, service: str, names: list[str]) -> IssuanceLookup | None:
        """The registry called ``service`` (audience, served namespaces, whether it filters
        its catalog), the routes of the namespaces of ``names`` and which of the
        repositories ``names`` exist, in one statement; None for an unknown registry."""

    def verification(self, registry_name: str, jti: str | None) -> Verification | None:
        """The registry called ``registry_name`` with the record of ``jti`` (its token
        fields None when never issued); None for an unknown registry."""

    def audience(
        self, service: str, names: list[str]
    ) -> tuple[int, str, list[str], bool, str, dict[str, tuple[str, ...]]] | None:
        """(id, name, declared namespaces, whether it filters its catalog, kind, the routes
        of the namespaces of the repository names ``names``) of the registry called
        ``service``, or None."""

    def quotas(self, namespaces: list[str]) -> list[QuotaState]:
        """The quota settings and use of those of ``namespaces`` that exist, in one
        prepared statement (a token granting push)."""


class AuditStore(Protocol):
    """``uow.audit``: the append-only audit log."""

    def record(
        self,
        action: str,
        *,
        actor_id: int | None = None,
        actor_name: str = "",
        target_type: str = "",
        target: str = "",
        namespace_id: int | None = None,
        repository_id: int | None = None,
        detail: dict | None = None,
        request_id: str = "",
        remote_addr: str = "",
    ) -> None:
        """Append one entry; ``detail`` never holds secrets."""

    def list(
        self,
        *,
        namespace_id: int | None = None,
        actor_id: int | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first; ``before_id`` continues after the last entry seen; ``action`` exact;
        ``since <= at < until`` when given."""

    def export(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actions: Sequence[str] = (),
        batch: int = 1000,
    ) -> Iterator[AuditRecord]:
        """Entries with ``since <= at < until`` (of ``actions`` when given), oldest first,
        streamed (never all in memory); inside ``with uow`` for the whole iteration."""


class PullCountStore(Protocol):
    """``uow.pull_counts``: manifest pulls per subject and fixed window (pull rate limits,
    domain/pull_limits.py); windows by their start, Unix seconds."""

    def count(self, subject: str, window: int, start: int) -> int:
        """Pulls of ``subject`` in the ``window``-second window starting at ``start``."""

    def add(self, subject: str, window: int, start: int, pulls: int) -> None:
        """Add ``pulls`` to that count."""

    def prune_ended(self, limit: int) -> int:
        """Delete up to ``limit`` counts of ended windows; return how many."""

    def count_ended(self) -> int:
        """How many counts :meth:`prune_ended` would delete in all."""


class HousekeepingStore(Protocol):
    """``uow.housekeeping``: the schedule of the periodic tasks, shared by every process."""

    def claim(self, task: str, interval: int) -> bool:
        """Take ``task`` for this run when it is due (or new); False when another caller
        ran it less than ``interval`` seconds ago."""

    def finished(self, task: str, error: str | None) -> None:
        """Record the end of a run of ``task`` (``error``: why it failed, else None)."""


class MetricsStore(Protocol):
    """``uow.metrics``: what ``GET /metrics`` reads when scraped, cheap statements on
    indexes only (adapters/metrics.py)."""

    def snapshot(self) -> MetricsSnapshot:
        """The webhook queue (pending, oldest pending age), recently finished deliveries
        (outcomes, lag quantiles) and repository deletions in progress."""
