"""The unit of work over PostgreSQL: one transaction and the stores that share it.

:class:`PgUnitOfWork` implements the unit of work the services depend on
(services/unit_of_work.py: its usage, re-entrance and ``reading()``), with one SQL store
per attribute (``STORES``: each implements its Protocol of domain/stores.py or
domain/repository_stores.py). The stores exist only inside ``with uow`` / ``with
uow.reading()``: they are built, on first use, on the connection the block lends. A broken
connection surfaces as :class:`~wharf_index.domain.errors.DatabaseUnavailable`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .access_tokens import PgAccessTokenStore
from .audit import PgAuditStore
from .comments import PgCommentStore
from .content import PgContentStore
from .db import Database
from .deletions import PgDeletionStore
from .explore import PgExploreStore
from .grants import PgGrantStore
from .housekeeping import PgHousekeepingStore
from .image_documents import PgImageDocumentStore
from .invitations import PgInvitationStore
from .issued_tokens import PgIssuedTokenStore
from .login_failures import PgLoginFailureStore
from .metrics import PgMetricsStore
from .namespaces import PgNamespaceStore
from .orgs import PgOrgStore
from .pull_counts import PgPullCountStore
from .reconciliation import PgReconciliationStore
from .registries import PgRegistryStore
from .repositories import PgRepositoryStore
from .routing import PgRoutingStore
from .search import PgSearchStore
from .signing_keys import PgSigningKeyStore
from .stars import PgStarStore
from .tag_rules import PgTagRuleStore
from .tags import PgTagStore
from .token_checks import PgTokenCheckStore
from .users import PgUserStore
from .webhook_queue import PgWebhookQueueStore
from .webhooks import PgWebhookStore

STORES = {
    "users": PgUserStore,
    "login_failures": PgLoginFailureStore,
    "namespaces": PgNamespaceStore,
    "orgs": PgOrgStore,
    "repositories": PgRepositoryStore,
    "grants": PgGrantStore,
    "access_tokens": PgAccessTokenStore,
    "registries": PgRegistryStore,
    "routing": PgRoutingStore,
    "issued_tokens": PgIssuedTokenStore,
    "invitations": PgInvitationStore,
    "audit": PgAuditStore,
    "stars": PgStarStore,
    "comments": PgCommentStore,
    "tags": PgTagStore,
    "tag_rules": PgTagRuleStore,
    "image_documents": PgImageDocumentStore,
    "search": PgSearchStore,
    "explore": PgExploreStore,
    "content": PgContentStore,
    "token_checks": PgTokenCheckStore,
    "deletions": PgDeletionStore,
    "reconciliation": PgReconciliationStore,
    "housekeeping": PgHousekeepingStore,
    "signing_keys": PgSigningKeyStore,
    "webhooks": PgWebhookStore,
    "webhook_queue": PgWebhookQueueStore,
    "pull_counts": PgPullCountStore,
    "metrics": PgMetricsStore,
}


class PgUnitOfWork:
    """A transaction over ``db`` exposing one store per aggregate; ``config`` is the
    services' configuration (a ServiceConfig), carried for them."""

    users: PgUserStore
    login_failures: PgLoginFailureStore
    namespaces: PgNamespaceStore
    orgs: PgOrgStore
    repositories: PgRepositoryStore
    grants: PgGrantStore
    access_tokens: PgAccessTokenStore
    registries: PgRegistryStore
    issued_tokens: PgIssuedTokenStore
    invitations: PgInvitationStore
    audit: PgAuditStore
    stars: PgStarStore
    comments: PgCommentStore
    tags: PgTagStore
    tag_rules: PgTagRuleStore
    image_documents: PgImageDocumentStore
    search: PgSearchStore
    explore: PgExploreStore
    content: PgContentStore
    token_checks: PgTokenCheckStore
    deletions: PgDeletionStore
    reconciliation: PgReconciliationStore
    housekeeping: PgHousekeepingStore
    signing_keys: PgSigningKeyStore
    webhooks: PgWebhookStore
    webhook_queue: PgWebhookQueueStore
    pull_counts: PgPullCountStore
    metrics: PgMetricsStore

    def __init__(self, db: Database, config: Any = None) -> None:
        self.db = db
        self.config = config
        self.conn = None
        self._depth = 0
        self._transaction = None

    def __enter__(self) -> PgUnitOfWork:
        if self._depth == 0:
            self._transaction = self.db.transaction()
            self.conn = self._transaction.__enter__()
        self._depth += 1
        return self

    def __getattr__(self, name: str):
        """A store of the open block, made on first use (a block uses two or three of them:
        building all twenty for each one cost the token endpoint ~0.1 ms per request)."""
        store = STORES.get(name)
        conn = self.__dict__.get("conn")
        if store is None or conn is None:
            raise AttributeError(name)
        value = self.__dict__[name] = store(conn)
        return value

    def _drop_stores(self) -> None:
        for name in [name for name in self.__dict__ if name in STORES]:
            del self.__dict__[name]

    @contextmanager
    def reading(self) -> Iterator[PgUnitOfWork]:
        """Like ``with uow`` for read-only work, without a transaction of its own: outside an
        open unit of work each statement runs in autocommit (no ``BEGIN``/``COMMIT`` round
        trips; READ COMMITTED gives every statement its own snapshot anyway); inside one it
        simply joins it. Never write in this block, except with a store method whose one
        statement is a complete write documented to commit on its own here
        (``issued_tokens.record``)."""
        if self._depth:
            with self:
                yield self
            return
        with self.db.autocommit() as conn:
            self.conn = conn
            self._depth = 1
            try:
                yield self
            finally:
                self._depth, self.conn = 0, None
                self._drop_stores()

    def __exit__(self, exc_type, exc, tb) -> None:
        """Leave a block; the outermost commits, or rolls back and lets the exception go on
        (never swallowed)."""
        self._depth -= 1
        if self._depth == 0:
            transaction, self._transaction, self.conn = self._transaction, None, None
            self._drop_stores()
            transaction.__exit__(exc_type, exc, tb)
