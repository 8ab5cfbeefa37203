"""Webhooks: create, list, get, change, delete, ping, the delivery log, redelivery, and the
receivers' callbacks. Queueing for registry events is services/webhook_events.py's; sending
is the worker's (services/webhook_worker.py).

A webhook belongs to a repository or to a whole namespace (:class:`Owner`). Who may manage:

- a repository's webhooks: whoever administers the repository (policy.may_administer: the
  ``admin`` role, and for access tokens a scope naming ``admin``); a private repository the
  caller may not see is RepositoryNotFound, exactly as one that does not exist;
- a namespace's webhooks: its owners (the user themself, an organisation's owners) and
  administrators, with a password or a session (policy.may_administer_namespace; access
  tokens are refused, as for every namespace setting).

A webhook id (and a delivery id) of another owner is "not found".

The signing secret is ``secrets.token_urlsafe(32)`` unless the caller gives one (16 to 256
characters); it is stored sealed with INDEX_SECRET_KEY (services/secret_box.py) and
returned once, in the answer that made it (creation, rotation), never again.
"""

from __future__ import annotations

import fnmatch
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from ..domain import errors, policy, webhook_targets
from ..domain.model import Namespace, Principal, Repository
from ..domain.records import Webhook, WebhookDelivery
from . import audit, secret_box, webhook_events
from . import webhook_payloads as payloads
from .paging import Page, take
from .registries import URL_AUTHORITY
from .unit_of_work import UnitOfWork

MAX_NAME = 100
MAX_TAG_PATTERN = 128
MIN_SECRET, MAX_SECRET = 16, 256
SECRET_BYTES = 32
#: Tag characters and the glob's own (``* ? [ ] !``).
TAG_PATTERN_RE = re.compile(r"[A-Za-z0-9_.*?\[\]!-]*")
#: What the API takes as a webhook URL: registry URLs' ``http(s)://host[:port]`` (a name,
#: an IPv4 address or a bracketed IPv6 literal) and an optional path, query or fragment of
#: printable ASCII. Whether the host may be reached is the address rule's to say
#: (domain/webhook_targets.py: a literal here, the address connected to at delivery).
HOST_URL_RE = re.compile(URL_AUTHORITY + r"(?:[/?#][!-~]*)?")
CALLBACK_STATES = ("success", "failure", "error")
MAX_CALLBACK_TOKEN = 128
CALLBACK_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")
#: A delivery id as the API shows it (a UUID, lowercase or not).
DELIVERY_ID_RE = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class Owner:
    """What a webhook hangs on: ``kind`` ``repository`` (``name`` its full name) or
    ``namespace``."""

    kind: str
    name: str


@dataclass(frozen=True)
class _Resolved:
    namespace: Namespace
    repository: Repository | None


# -- checks ------------------------------------------------------------------------------------


def check_url(uow: UnitOfWork, url: object) -> str:
    if not isinstance(url, str):
        raise errors.FieldInvalid("url", "must be a string")
    problem = webhook_targets.url_problem(url, uow.config.webhook_allowed_networks)
    if problem:
        raise errors.FieldInvalid("url", f"the URL {problem}")
    return url


def check_events(events: object) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise errors.FieldInvalid("events", "give one or more events")
    unknown = [e for e in events if e not in payloads.EVENTS]
    if unknown:
        raise errors.FieldInvalid("events", f"unknown events {unknown!r}")
    return [e for e in payloads.EVENTS if e in events]


def check_tag_pattern(pattern: object) -> str:
    if not isinstance(pattern, str) or len(pattern) > MAX_TAG_PATTERN:
        raise errors.FieldInvalid("tag_pattern", f"at most {MAX_TAG_PATTERN} characters")
    if not TAG_PATTERN_RE.fullmatch(pattern):
        raise errors.FieldInvalid(
            "tag_pattern", "a glob of tag characters and * ? [ ] ! (e.g. v*, release-[0-9]*)"
        )
    try:
        re.compile(fnmatch.translate(pattern))
    except re.error:
        raise errors.FieldInvalid("tag_pattern", "not a valid glob") from None
    return pattern


def check_format(fmt: object) -> str:
    if fmt not in payloads.FORMATS:
        raise errors.FieldInvalid("format", f"one of {', '.join(payloads.FORMATS)}")
    return str(fmt)


def check_name(name: object) -> str:
    if not isinstance(name, str) or len(name) > MAX_NAME:
        raise errors.FieldInvalid("name", f"at most {MAX_NAME} characters")
    return name


def check_secret(secret: object) -> str:
    if not isinstance(secret, str) or not MIN_SECRET <= len(secret) <= MAX_SECRET:
        raise errors.FieldInvalid("secret", f"{MIN_SECRET} to {MAX_SECRET} characters")
    return secret


# -- who may ---------------------------------------------------------------------------------


def _resolve(uow: UnitOfWork, principal: Principal, owner: Owner) -> _Resolved:
    if owner.kind == "repository":
        repository = uow.repositories.find(owner.name)
        if repository is None or not policy.may_see(principal, repository):
            raise errors.RepositoryNotFound(owner.name)
        if not policy.may_administer(principal, repository):
            raise errors.PermissionDenied(f"you may not administer {owner.name}")
        return _Resolved(uow.namespaces.get(repository.namespace), repository)
    namespace = uow.namespaces.get(owner.name)
    if principal.scopes is not None or not policy.may_administer_namespace(principal, namespace):
        raise errors.PermissionDenied(f"only owners of {owner.name} may do that")
    return _Resolved(namespace, None)


def _webhook(uow: UnitOfWork, found: _Resolved, webhook_id: int, *, lock: bool = False):
    hook = uow.webhooks.find(webhook_id, for_update=lock)
    if found.repository is not None:
        mine = hook is not None and hook.repository_id == found.repository.id
    else:
        mine = hook is not None and hook.namespace_id == found.namespace.id
        mine = mine and hook.repository_name is None
    if not mine:
        raise errors.NotFound("webhook", webhook_id)
    return hook


def _audit(uow, principal, found: _Resolved, action: str, detail: dict) -> None:
    repository = found.repository
    audit.record(
        uow,
        principal,
        action,
        "repository" if repository else "namespace",
        repository.full_name if repository else found.namespace.name,
        namespace_id=found.namespace.id,
        repository_id=repository.id if repository else None,
        detail=detail,
    )


# -- use cases -------------------------------------------------------------------------------


def create_webhook(
    uow: UnitOfWork,
    principal: Principal,
    owner: Owner,
    *,
    url: str,
    name: str = "",
    events: list[str] | None = None,
    tag_pattern: str = "",
    fmt: str = "dockerhub",
    secret: str | None = None,
) -> tuple[Webhook, str]:
    """Create a webhook; return it and its secret (shown this once)."""
    values = {
        "url": check_url(uow, url),
        "name": check_name(name),
        "events": check_events(list(payloads.EVENTS) if events is None else events),
        "tag_pattern": check_tag_pattern(tag_pattern),
        "format": check_format(fmt),
    }
    secret = secrets.token_urlsafe(SECRET_BYTES) if secret is None else check_secret(secret)
    with uow:
        found = _resolve(uow, principal, owner)
        hook = uow.webhooks.create(
            found.namespace.id,
            found.repository,
            secret_sealed=secret_box.seal(uow.config.secret_key, secret),
            created_by=principal.user.id if principal.user and principal.user.id > 0 else None,
            **values,
        )
        detail = {"webhook": hook.id, "events": list(hook.events), "format": hook.format}
        _audit(uow, principal, found, "webhook.create", detail)
        return hook, secret


def list_webhooks(
    uow: UnitOfWork, principal: Principal, owner: Owner, *, after: tuple | None, limit: int
) -> Page:
    """An owner's webhooks by id; keys are ``(id,)``."""
    with uow:
        found = _resolve(uow, principal, owner)
        rows = uow.webhooks.list(
            namespace_id=found.namespace.id,
            repository_id=found.repository.id if found.repository else None,
            after_id=after[0] if after else None,
            limit=limit + 1,
        )
    return take(rows, limit, lambda hook: (hook.id,))


def get_webhook(uow: UnitOfWork, principal: Principal, owner: Owner, webhook_id: int) -> Webhook:
    with uow:
        return _webhook(uow, _resolve(uow, principal, owner), webhook_id)


def update_webhook(
    uow: UnitOfWork,
    principal: Principal,
    owner: Owner,
    webhook_id: int,
    changes: dict,
    *,
    rotate_secret: bool = False,
) -> tuple[Webhook, str | None]:
    """Change a webhook (``changes``: url, name, events, tag_pattern, format, active,
    secret); re-enabling clears ``disabled_reason`` and ``consecutive_failures``. A new
    secret (given, or ``rotate_secret``) is returned once; else None."""
    checks = {
        "url": lambda v: check_url(uow, v),
        "name": check_name,
        "events": check_events,
        "tag_pattern": check_tag_pattern,
        "format": check_format,
        "active": bool,
    }
    values = {key: checks[key](value) for key, value in changes.items() if key in checks}
    secret = changes.get("secret")
    if secret is not None:
        check_secret(secret)
    elif rotate_secret:
        secret = secrets.token_urlsafe(SECRET_BYTES)
    with uow:
        found = _resolve(uow, principal, owner)
        _webhook(uow, found, webhook_id, lock=True)
        if values.get("active"):
            values.update(disabled_reason="", consecutive_failures=0)
        if secret is not None:
            values["secret_sealed"] = secret_box.seal(uow.config.secret_key, secret)
        hook = uow.webhooks.update(webhook_id, **values)
        changed = sorted(set(changes) - {"secret"} | ({"secret"} if secret else set()))
        _audit(uow, principal, found, "webhook.update", {"webhook": webhook_id, "changed": changed})
        return hook, secret


def delete_webhook(uow: UnitOfWork, principal: Principal, owner: Owner, webhook_id: int) -> None:
    """Delete a webhook with its queue and log."""
    with uow:
        found = _resolve(uow, principal, owner)
        _webhook(uow, found, webhook_id, lock=True)
        uow.webhooks.delete(webhook_id)
        _audit(uow, principal, found, "webhook.delete", {"webhook": webhook_id})


def ping(uow: UnitOfWork, principal: Principal, owner: Owner, webhook_id: int) -> WebhookDelivery:
    """Queue a ``ping`` delivery to a webhook (whatever its events and pattern)."""
    with uow:
        found = _resolve(uow, principal, owner)
        hook = _webhook(uow, found, webhook_id)
        repository = found.repository
        occurrence = payloads.Occurrence(
            event=payloads.PING,
            at=datetime.now(UTC),
            namespace=found.namespace.name,
            repository=webhook_events.repository_facts(uow, repository) if repository else None,
            pusher=principal.user.username if principal.user else "",
        )
        return webhook_events.enqueue(uow, hook, occurrence)


def list_deliveries(
    uow: UnitOfWork,
    principal: Principal,
    owner: Owner,
    webhook_id: int,
    *,
    after: tuple | None,
    limit: int,
) -> Page:
    """A webhook's deliveries with their attempts, newest first; keys are ``(id,)``."""
    with uow:
        hook = _webhook(uow, _resolve(uow, principal, owner), webhook_id)
        rows = uow.webhooks.deliveries(
            hook.id, after_id=after[0] if after else None, limit=limit + 1
        )
    return take(rows, limit, lambda delivery: (delivery.id,))


def redeliver(
    uow: UnitOfWork, principal: Principal, owner: Owner, webhook_id: int, delivery_id: str
) -> WebhookDelivery:
    """Queue a finished delivery again: the same delivery id and body, due now; its
    attempts log goes on. StateConflict while it is still pending."""
    if not DELIVERY_ID_RE.fullmatch(delivery_id):
        raise errors.NotFound("delivery", delivery_id)
    with uow:
        hook = _webhook(uow, _resolve(uow, principal, owner), webhook_id)
        delivery = uow.webhooks.find_delivery(hook.id, delivery_id)
        if delivery is None:
            raise errors.NotFound("delivery", delivery_id)
        if not uow.webhooks.redeliver(hook.id, delivery_id):
            raise errors.StateConflict("delivery", "the delivery is still pending")
        return uow.webhooks.find_delivery(hook.id, delivery_id)


def record_callback(
    uow: UnitOfWork,
    callback_token: str,
    *,
    state: str,
    description: str = "",
    context: str = "",
    target_url: str = "",
) -> None:
    """Record a receiver's result on the delivery whose callback URL holds
    ``callback_token`` (the token is the credential). NotFound for unknown tokens."""
    if len(callback_token) > MAX_CALLBACK_TOKEN or not CALLBACK_TOKEN_RE.fullmatch(callback_token):
        raise errors.NotFound("callback", "token")
    if state not in CALLBACK_STATES:
        raise errors.FieldInvalid("state", f"one of {', '.join(CALLBACK_STATES)}")
    with uow:
        if not uow.webhooks.record_callback(
            callback_token, state, description, context, target_url
        ):
            raise errors.NotFound("callback", "token")
