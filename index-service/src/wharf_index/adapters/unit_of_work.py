"""The unit of work: one transaction and the stores that share it.

Usage (services do this; views never touch SQL)::

    with uow:                       # BEGIN (a pooled connection is lent)
        user = uow.users.get("alice")
        uow.audit.record("user.update", ...)
                                    # COMMIT when the block ends normally,
                                    # ROLLBACK when it raises (the exception propagates)

Read-only work can use ``with uow.reading():`` instead (no BEGIN/COMMIT round trips).

Re-entrant: a service may call another service with the same ``uow``; only the outermost
``with`` commits. ``uow.config`` carries the service configuration (password hasher,
throttling, defaults) so service functions need no other argument. A broken connection
surfaces as :class:`~wharf_index.domain.errors.DatabaseUnavailable`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .access_tokens import AccessTokenStore
from .audit import AuditStore
from .comments import CommentStore
from .content import ContentStore
from .db import Database
from .deletions import DeletionStore
from .grants import GrantStore
from .housekeeping import HousekeepingStore
from .issued_tokens import IssuedTokenStore
from .login_failures import LoginFailureStore
from .namespaces import NamespaceStore
from .orgs import OrgStore
from .reconciliation import ReconciliationStore
from .registries import RegistryStore
from .repositories import RepositoryStore
from .search import SearchStore
from .stars import StarStore
from .tags import TagStore
from .token_checks import TokenCheckStore
from .users import UserStore

STORES = {
    "users": UserStore,
    "login_failures": LoginFailureStore,
    "namespaces": NamespaceStore,
    "orgs": OrgStore,
    "repositories": RepositoryStore,
    "grants": GrantStore,
    "access_tokens": AccessTokenStore,
    "registries": RegistryStore,
    "issued_tokens": IssuedTokenStore,
    "audit": AuditStore,
    "stars": StarStore,
    "comments": CommentStore,
    "tags": TagStore,
    "search": SearchStore,
    "content": ContentStore,
    "token_checks": TokenCheckStore,
    "deletions": DeletionStore,
    "reconciliation": ReconciliationStore,
    "housekeeping": HousekeepingStore,
}


class UnitOfWork:
    """A transaction over ``db`` exposing one store per aggregate (see module docstring)."""

    users: UserStore
    login_failures: LoginFailureStore
    namespaces: NamespaceStore
    orgs: OrgStore
    repositories: RepositoryStore
    grants: GrantStore
    access_tokens: AccessTokenStore
    registries: RegistryStore
    issued_tokens: IssuedTokenStore
    audit: AuditStore
    stars: StarStore
    comments: CommentStore
    tags: TagStore
    search: SearchStore
    content: ContentStore
    token_checks: TokenCheckStore
    deletions: DeletionStore
    reconciliation: ReconciliationStore
    housekeeping: HousekeepingStore

    def __init__(self, db: Database, config: Any = None) -> None:
        self.db = db
        self.config = config
        self.conn = None
        self._depth = 0
        self._transaction = None

    def __enter__(self) -> UnitOfWork:
        if self._depth == 0:
            self._transaction = self.db.transaction()
            self.conn = self._transaction.__enter__()
            for name, store in STORES.items():
                setattr(self, name, store(self.conn))
        self._depth += 1
        return self

    @contextmanager
    def reading(self) -> Iterator[UnitOfWork]:
        """Like ``with uow`` for read-only work, without a transaction of its own: outside an
        open unit of work each statement runs in autocommit (no ``BEGIN``/``COMMIT`` round
        trips; READ COMMITTED gives every statement its own snapshot anyway); inside one it
        simply joins it. Never write in this block."""
        if self._depth:
            with self:
                yield self
            return
        with self.db.autocommit() as conn:
            self.conn = conn
            for name, store in STORES.items():
                setattr(self, name, store(conn))
            self._depth = 1
            try:
                yield self
            finally:
                self._depth, self.conn = 0, None
                for name in STORES:
                    self.__dict__.pop(name, None)

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._depth -= 1
        if self._depth == 0:
            transaction, self._transaction, self.conn = self._transaction, None, None
            for name in STORES:
                self.__dict__.pop(name, None)
            return bool(transaction.__exit__(exc_type, exc, tb))
        return False
