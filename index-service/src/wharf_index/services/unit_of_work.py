"""The unit of work the services take: one transaction and the stores that share it.

Usage (services do this; views never touch the stores)::

    with uow:                       # BEGIN (a pooled connection is lent)
        user = uow.users.get("alice")
        uow.audit.record("user.update", ...)
                                    # COMMIT when the block ends normally,
                                    # ROLLBACK when it raises (the exception propagates)

Read-only work can use ``with uow.reading():`` instead (no BEGIN/COMMIT round trips; outside
an open unit of work each statement runs on its own, inside one it joins it). Never write in
such a block, except with a store method whose one statement is a complete write that says
it commits on its own there (``issued_tokens.record``: the token endpoint's record).

Re-entrant: a service may call another service with the same ``uow``; only the outermost
``with`` commits. ``uow.config`` carries the service configuration (password hasher,
throttling, defaults) so service functions need no other argument. The stores exist only
inside a block. A broken connection surfaces as DatabaseUnavailable (domain/errors.py).

:class:`UnitOfWork` is a Protocol: adapters/unit_of_work.py implements it over PostgreSQL
(``PgUnitOfWork``), and a test checks that it offers every store declared here, each
implementing its Protocol (domain/stores.py, domain/repository_stores.py).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from ..domain.repository_stores import (
    CommentStore,
    ContentStore,
    DeletionStore,
    ExploreStore,
    ImageDocumentStore,
    ReconciliationStore,
    RegistryStore,
    RepositoryStore,
    RoutingStore,
    SearchStore,
    StarStore,
    TagRuleStore,
    TagStore,
    WebhookStore,
)
from ..domain.stores import (
    AccessTokenStore,
    AuditStore,
    GrantStore,
    HousekeepingStore,
    InvitationStore,
    IssuedTokenStore,
    LoginFailureStore,
    MetricsStore,
    NamespaceStore,
    OrgStore,
    PullCountStore,
    SigningKeyStore,
    TokenCheckStore,
    UserStore,
)
from ..domain.webhook_delivery import WebhookQueueStore
from .config import ServiceConfig


class UnitOfWork(Protocol):
    """A transaction and one store per aggregate (see the module docstring). The members
    are read-only (properties), so an implementation may hold narrower types: its own
    store classes, each implementing the Protocol declared here."""

    @property
    def config(self) -> ServiceConfig: ...
    @property
    def users(self) -> UserStore: ...
    @property
    def login_failures(self) -> LoginFailureStore: ...
    @property
    def namespaces(self) -> NamespaceStore: ...
    @property
    def orgs(self) -> OrgStore: ...
    @property
    def repositories(self) -> RepositoryStore: ...
    @property
    def grants(self) -> GrantStore: ...
    @property
    def access_tokens(self) -> AccessTokenStore: ...
    @property
    def registries(self) -> RegistryStore: ...
    @property
    def routing(self) -> RoutingStore: ...
    @property
    def issued_tokens(self) -> IssuedTokenStore: ...
    @property
    def invitations(self) -> InvitationStore: ...
    @property
    def audit(self) -> AuditStore: ...
    @property
    def stars(self) -> StarStore: ...
    @property
    def comments(self) -> CommentStore: ...
    @property
    def tags(self) -> TagStore: ...
    @property
    def tag_rules(self) -> TagRuleStore: ...
    @property
    def image_documents(self) -> ImageDocumentStore: ...
    @property
    def search(self) -> SearchStore: ...
    @property
    def explore(self) -> ExploreStore: ...
    @property
    def content(self) -> ContentStore: ...
    @property
    def token_checks(self) -> TokenCheckStore: ...
    @property
    def deletions(self) -> DeletionStore: ...
    @property
    def reconciliation(self) -> ReconciliationStore: ...
    @property
    def housekeeping(self) -> HousekeepingStore: ...
    @property
    def signing_keys(self) -> SigningKeyStore: ...
    @property
    def webhooks(self) -> WebhookStore: ...
    @property
    def webhook_queue(self) -> WebhookQueueStore: ...
    @property
    def pull_counts(self) -> PullCountStore: ...
    @property
    def metrics(self) -> MetricsStore: ...

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, exc_type, exc, tb) -> None: ...  # never swallows the exception
    def reading(self) -> AbstractContextManager[UnitOfWork]: ...
