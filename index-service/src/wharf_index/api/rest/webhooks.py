"""Webhooks of a repository (``/repositories/<name>/-/webhooks``) and of a whole namespace
(``/namespaces/<namespace>/webhooks``): list, create, get, change, delete, ping, the
delivery log and redelivery; and the receivers' callback (``/webhooks/callbacks/<token>``).

The same operations exist for both owners (services/webhooks.py says who may): repository
webhooks for the repository's administrators (access tokens with a scope naming
``admin``), namespace webhooks for the namespace's owners with a password or a session.
The signing secret is in the creation's answer (and a rotation's), never again.

The callback takes no credentials: the token in its path, a secret only the payload
carried, is the credential.
"""

from __future__ import annotations

from collections.abc import Callable

from ...context import uow
from ...domain.model import Principal
from ...domain.records import Webhook
from ...services import webhooks
from . import bp
from .auth import require_account, require_user
from .inputs import load
from .openapi import doc
from .pagination import page_body, page_request
from .webhook_schemas import (
    WebhookCallbackIn,
    WebhookCreateIn,
    WebhookDeliverySchema,
    WebhookSchema,
    WebhookSecretSchema,
    WebhookUpdateIn,
)

#: owner kind -> (path of its webhooks, auth of the routes, how the caller is required)
OWNERS: dict[str, tuple[str, str, Callable[[], Principal]]] = {
    "repository": ("/repositories/<api_repo:name>/-/webhooks", "user", require_user),
    "namespace": ("/namespaces/<namespace>/webhooks", "account", require_account),
}
HOOK = "/<api_id:webhook_id>"


def _with_secret(hook: Webhook, secret: str) -> dict:
    return WebhookSecretSchema().dump(hook) | {"secret": secret}


def _register(kind: str) -> None:
    """Register the webhook operations of one owner kind on ``bp``."""
    base, auth, caller = OWNERS[kind]

    def owner(kw: dict) -> webhooks.Owner:
        return webhooks.Owner(kind, kw["name"] if kind == "repository" else kw["namespace"])

    def list_webhooks(**kw):
        wanted = page_request("webhooks", (int,))
        page = webhooks.list_webhooks(
            uow(), caller(), owner(kw), after=wanted.after, limit=wanted.limit
        )
        return page_body("webhooks", page, WebhookSchema(many=True).dump(page.items))

    def create_webhook(**kw):
        who = caller()
        data = load(WebhookCreateIn)
        hook, secret = webhooks.create_webhook(
            uow(),
            who,
            owner(kw),
            url=data["url"],
            name=data["name"],
            events=data["events"],
            tag_pattern=data["tag_pattern"],
            fmt=data["format"],
            secret=data.get("secret"),
        )
        return _with_secret(hook, secret), 201

    def get_webhook(webhook_id: int, **kw):
        return WebhookSchema().dump(webhooks.get_webhook(uow(), caller(), owner(kw), webhook_id))

    def update_webhook(webhook_id: int, **kw):
        who = caller()
        data = load(WebhookUpdateIn)
        rotate = data.pop("rotate_secret", False)
        hook, secret = webhooks.update_webhook(
            uow(), who, owner(kw), webhook_id, data, rotate_secret=rotate
        )
        return _with_secret(hook, secret) if secret else WebhookSchema().dump(hook)

    def delete_webhook(webhook_id: int, **kw):
        webhooks.delete_webhook(uow(), caller(), owner(kw), webhook_id)
        return "", 204

    def ping_webhook(webhook_id: int, **kw):
        delivery = webhooks.ping(uow(), caller(), owner(kw), webhook_id)
        return WebhookDeliverySchema().dump(delivery), 202

    def list_deliveries(webhook_id: int, **kw):
        wanted = page_request("webhook-deliveries", (int,))
        page = webhooks.list_deliveries(
            uow(), caller(), owner(kw), webhook_id, after=wanted.after, limit=wanted.limit
        )
        dumped = WebhookDeliverySchema(many=True).dump(page.items)
        return page_body("webhook-deliveries", page, dumped)

    def redeliver(webhook_id: int, delivery_id: str, **kw):
        delivery = webhooks.redeliver(uow(), caller(), owner(kw), webhook_id, delivery_id)
        return WebhookDeliverySchema().dump(delivery), 202

    routes = [
        ("GET", "", "list_{}_webhooks", list_webhooks, "List the {}'s webhooks by id.",
         {"response": WebhookSchema, "paginated": True}),
        ("POST", "", "create_{}_webhook", create_webhook,
         "Create a webhook on the {} (its secret is answered this once).",
         {"body": WebhookCreateIn, "response": WebhookSecretSchema, "status": 201,
          "links": {"webhook_id": "id"}}),
        ("GET", HOOK, "get_{}_webhook", get_webhook, "Return a webhook of the {}.",
         {"response": WebhookSchema}),
        ("PATCH", HOOK, "update_{}_webhook", update_webhook,
         "Change a webhook of the {} (a new secret is answered once).",
         {"body": WebhookUpdateIn, "response": (WebhookSchema, WebhookSecretSchema)}),
        ("DELETE", HOOK, "delete_{}_webhook", delete_webhook,
         "Delete a webhook of the {} with its deliveries.", {"status": 204}),
        ("POST", HOOK + "/ping", "ping_{}_webhook", ping_webhook,
         "Queue a ping delivery to a webhook of the {}.",
         {"response": WebhookDeliverySchema, "status": 202}),
        ("GET", HOOK + "/deliveries", "list_{}_webhook_deliveries", list_deliveries,
         "List a webhook's deliveries with their attempts, newest first ({} webhooks).",
         {"response": WebhookDeliverySchema, "paginated": True}),
        ("POST", HOOK + "/deliveries/<delivery_id>/redeliver",
         "redeliver_{}_webhook_delivery", redeliver,
         "Send a finished delivery again: same id and body ({} webhooks).",
         {"response": WebhookDeliverySchema, "status": 202, "errors": (409,)}),
    ]  # fmt: skip
    for method, suffix, endpoint, view, summary, spec in routes:
        view.__doc__ = summary.format(kind)
        view.__name__ = endpoint.format(kind)
        bp.add_url_rule(
            base + suffix,
            endpoint=endpoint.format(kind),
            view_func=doc(auth=auth, **spec)(view),
            methods=[method],
        )


for _kind in OWNERS:
    _register(_kind)


@bp.post("/webhooks/callbacks/<callback_token>")
@doc(auth="none", body=WebhookCallbackIn, status=204)
def post_webhook_callback(callback_token: str):
    """Record a receiver's result for a delivery (the token from its callback_url)."""
    data = load(WebhookCallbackIn)
    webhooks.record_callback(uow(), callback_token, **data)
    return "", 204
