"""Queue webhook deliveries for what happens to repositories, inside the caller's unit of
work: the transaction that applies a registry's event (services/events.py) or deletes a
repository (services/repositories.py). Nothing is queued unless that transaction commits,
and a duplicate registry event, which is not applied, queues nothing.

Matching: the active webhooks of the repository and of its namespace subscribed to the
event; for tag events, a webhook's ``tag_pattern`` (a glob, ``fnmatch.fnmatchcase``; empty:
every tag) must match the tag. ``repository_deleted`` ignores the pattern.

Each delivery gets a fresh id (uuid4), a callback token (``secrets.token_urlsafe(32)``:
the secret part of the payload's ``callback_url``) and its body, rendered now
(services/webhook_payloads.py) in the webhook's format.
"""

from __future__ import annotations

import fnmatch
import secrets
import uuid
from datetime import UTC, datetime

from ..domain.model import Repository
from ..domain.records import Webhook, WebhookDelivery
from . import webhook_payloads as payloads
from .unit_of_work import UnitOfWork

CALLBACK_TOKEN_BYTES = 32


def tag_matches(pattern: str, tag: str) -> bool:
    """Tell whether ``tag`` matches a webhook's ``pattern`` (empty: every tag)."""
    return not pattern or fnmatch.fnmatchcase(tag, pattern)


def repository_facts(uow: UnitOfWork, repository: Repository) -> payloads.RepositoryFacts:
    stars, comment_count = uow.webhooks.repository_counts(repository.id)
    return payloads.RepositoryFacts(
        namespace=repository.namespace,
        name=repository.name,
        is_private=not repository.is_public,
        description=repository.description,
        star_count=stars,
        comment_count=comment_count,
        pull_count=repository.pull_count,
        created_at=repository.created_at,
    )


def enqueue(uow: UnitOfWork, webhook: Webhook, occurrence: payloads.Occurrence) -> WebhookDelivery:
    """Queue one delivery of ``occurrence`` to ``webhook`` (in the open unit of work)."""
    delivery_id = str(uuid.uuid4())
    token = secrets.token_urlsafe(CALLBACK_TOKEN_BYTES)
    public_url = uow.config.public_url
    body = payloads.render(
        webhook.format,
        occurrence,
        delivery_id=delivery_id,
        callback=payloads.callback_url(public_url, token),
        public_url=public_url,
    )
    return uow.webhooks.enqueue(webhook.id, delivery_id, occurrence.event, body, token)


def _notify(uow: UnitOfWork, repository: Repository, event: str, *, tag: str = "", **facts) -> int:
    hooks = [
        hook
        for hook in uow.webhooks.matching(repository.namespace_id, repository.id, event)
        if event == "repository_deleted" or tag_matches(hook.tag_pattern, tag)
    ]
    if not hooks:
        return 0
    occurrence = payloads.Occurrence(
        event=event,
        namespace=repository.namespace,
        repository=repository_facts(uow, repository),
        tag=tag,
        **facts,
    )
    for hook in hooks:
        enqueue(uow, hook, occurrence)
    return len(hooks)


def tag_pushed(
    uow: UnitOfWork,
    repository: Repository,
    *,
    tag: str,
    digest: str,
    media_type: str,
    pusher: str,
    at: datetime,
    registry: str,
) -> int:
    """Queue ``tag_pushed`` deliveries; return how many."""
    return _notify(
        uow,
        repository,
        "tag_pushed",
        tag=tag,
        digest=digest,
        media_type=media_type,
        pusher=pusher,
        at=at,
        registry=registry,
    )


def tag_deleted(
    uow: UnitOfWork,
    repository: Repository,
    *,
    tag: str,
    digest: str = "",
    pusher: str,
    at: datetime,
    registry: str,
) -> int:
    """Queue ``tag_deleted`` deliveries (``pusher``: who deleted it); return how many."""
    return _notify(
        uow,
        repository,
        "tag_deleted",
        tag=tag,
        digest=digest,
        pusher=pusher,
        at=at,
        registry=registry,
    )


def repository_deleted(uow: UnitOfWork, repository: Repository, *, actor: str) -> int:
    """Queue ``repository_deleted`` deliveries, before the repository's rows go."""
    return _notify(uow, repository, "repository_deleted", pusher=actor, at=datetime.now(UTC))
