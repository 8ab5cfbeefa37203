"""Webhook pages: ``/r/<name>/-/webhooks`` (a repository's), ``/u/<user>/-/webhooks`` and
``/orgs/<org>/-/webhooks`` (a whole namespace's).

The list with a creation form; one page per webhook with its settings, disable/re-enable,
secret rotation, deletion, ping and its deliveries with their attempts (Redeliver). Who
may is services/webhooks.py's to say: a repository's administrators, a namespace's owners
(others get "Not found" for what they may not see, else "Not allowed").

The signing secret is shown once, on the page the creation (or rotation) redirects to: the
POST puts it in the session sealed with INDEX_SECRET_KEY (services/secret_box.py, a label
of its own) and that GET takes it out, so a reload no longer shows it.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for

from ..api.errors import to_api_error
from ..context import uow
from ..domain import errors
from ..services import orgs, secret_box, webhooks
from ..services import webhook_payloads as payloads
from ..services.webhooks import Owner
from . import bp
from .session import check_form, principal

SHOWN_ONCE = "webhook_secret"
SECRET_LABEL = b"wharf-web-webhook-secret-once"
PAGE_SIZE = 100
DELIVERIES_SHOWN = 20
FORMAT_NAMES = {"dockerhub": "Docker Hub", "cloudevents": "CloudEvents"}
EVENT_NAMES = {
    "tag_pushed": "A tag was pushed",
    "tag_deleted": "A tag was deleted",
    "repository_deleted": "The repository was deleted",
}
#: owner kind in the address -> (path prefix, the services' owner kind)
PREFIXES = {"repository": "/r/<api_repo:name>", "user": "/u/<name>", "org": "/orgs/<name>"}


def _owner(kind: str, name: str) -> Owner:
    """The services' Owner; a user's address naming an organisation (or the reverse) is
    unknown, as any other wrong address."""
    if kind == "repository":
        return Owner("repository", name)
    try:
        orgs.get_org(uow(), name)
        is_org = True
    except errors.NotFound:
        is_org = False
    if is_org != (kind == "org"):
        raise errors.NamespaceNotFound(name)
    return Owner("namespace", name)


def _base(kind: str, name: str) -> str:
    """The address of the owner's webhook list."""
    prefix = {"repository": "/r/", "user": "/u/", "org": "/orgs/"}[kind]
    return f"{prefix}{name}/-/webhooks"


def _need_user():
    if principal().user is None:
        return redirect(url_for("web.signin_form", next=request.full_path.rstrip("?")), 303)
    return None


def _values(form) -> dict:
    """The webhook fields of a posted form, as the services take them."""
    return {
        "url": form.get("url", "").strip(),
        "name": form.get("name", "").strip(),
        "events": form.getlist("events"),
        "tag_pattern": form.get("tag_pattern", "").strip(),
        "format": form.get("format", ""),
    }


def _context(kind: str, name: str) -> dict:
    return {
        "kind": kind,
        "name": name,
        "base": _base(kind, name),
        "events": payloads.EVENTS,
        "event_names": EVENT_NAMES,
        "formats": FORMAT_NAMES,
    }


def _list_page(kind: str, name: str, *, status: int = 200, error: str = "", form=None):
    owner = _owner(kind, name)
    found = webhooks.list_webhooks(uow(), principal(), owner, after=None, limit=PAGE_SIZE)
    body = render_template(
        "webhooks.html",
        hooks=found.items,
        more=found.next is not None,
        error=error,
        form=form or {"events": list(payloads.EVENTS), "format": "dockerhub"},
        **_context(kind, name),
    )
    return body, status


def _hook_page(kind: str, name: str, webhook_id: int, *, status=200, error="", at="", form=None):
    """A webhook's page; ``error`` shown next to the form of action ``at``."""
    owner = _owner(kind, name)
    hook = webhooks.get_webhook(uow(), principal(), owner, webhook_id)
    deliveries = webhooks.list_deliveries(
        uow(), principal(), owner, webhook_id, after=None, limit=DELIVERIES_SHOWN
    )
    secret = None
    shown = session.get(SHOWN_ONCE)
    if shown and status == 200:
        session.pop(SHOWN_ONCE)
        if shown.get("id") == webhook_id:
            try:
                secret = secret_box.unseal(uow().config.secret_key, shown["sealed"], SECRET_LABEL)
            except secret_box.SecretUnreadable:
                secret = None
    body = render_template(
        "webhook.html",
        hook=hook,
        deliveries=deliveries.items,
        secret=secret,
        error=error,
        error_at=at,
        form=form
        or {
            "url": hook.url,
            "name": hook.name,
            "events": list(hook.events),
            "tag_pattern": hook.tag_pattern,
            "format": hook.format,
        },
        **_context(kind, name),
    )
    return body, status


def _show_once(webhook_id: int, secret: str) -> None:
    sealed = secret_box.seal(uow().config.secret_key, secret, SECRET_LABEL)
    session[SHOWN_ONCE] = {"id": webhook_id, "sealed": sealed}


def _refused(exc: errors.IndexError_) -> tuple[str, int]:
    """The message and status of a refused change (hidden things stay hidden: raised)."""
    if isinstance(exc, errors.NotFound):  # the owner, a webhook or a delivery
        raise exc
    error = to_api_error(exc)
    return error.message, error.status


def _register(kind: str) -> None:
    """Register the webhook pages of one owner kind on the web blueprint."""
    prefix = PREFIXES[kind] + "/-/webhooks"
    hook = "/<api_id:webhook_id>"

    def list_hooks(name: str):
        return _need_user() or _list_page(kind, name)

    def create_hook(name: str):
        check_form()
        if (signin := _need_user()) is not None:
            return signin
        values = _values(request.form)
        try:
            created, secret = webhooks.create_webhook(
                uow(),
                principal(),
                _owner(kind, name),
                url=values["url"],
                name=values["name"],
                events=values["events"],
                tag_pattern=values["tag_pattern"],
                fmt=values["format"],
            )
        except errors.IndexError_ as exc:
            message, status = _refused(exc)
            return _list_page(kind, name, status=status, error=message, form=values)
        _show_once(created.id, secret)
        return redirect(f"{_base(kind, name)}/{created.id}", 303)

    def show_hook(name: str, webhook_id: int):
        return _need_user() or _hook_page(kind, name, webhook_id)

    def change(name: str, webhook_id: int, action: str):
        check_form()
        if (signin := _need_user()) is not None:
            return signin
        owner, who = _owner(kind, name), principal()
        values = _values(request.form)
        try:
            if action == "edit":
                webhooks.update_webhook(uow(), who, owner, webhook_id, values)
                done = "Webhook saved."
            elif action in ("disable", "enable"):
                active = action == "enable"
                webhooks.update_webhook(uow(), who, owner, webhook_id, {"active": active})
                done = "Webhook re-enabled." if active else "Webhook disabled."
            elif action == "rotate":
                _, secret = webhooks.update_webhook(
                    uow(), who, owner, webhook_id, {}, rotate_secret=True
                )
                _show_once(webhook_id, secret)
                done = "A new secret was made; the old one no longer signs deliveries."
            elif action == "ping":
                webhooks.ping(uow(), who, owner, webhook_id)
                done = "A ping delivery was queued."
            elif action == "delete":
                webhooks.delete_webhook(uow(), who, owner, webhook_id)
                flash("Webhook deleted.")
                return redirect(_base(kind, name), 303)
            else:
                abort(404)
        except errors.IndexError_ as exc:
            message, status = _refused(exc)
            form = values if action == "edit" else None
            return _hook_page(
                kind, name, webhook_id, status=status, error=message, at=action, form=form
            )
        flash(done)
        return redirect(f"{_base(kind, name)}/{webhook_id}", 303)

    def redeliver(name: str, webhook_id: int, delivery_id: str):
        check_form()
        if (signin := _need_user()) is not None:
            return signin
        try:
            webhooks.redeliver(uow(), principal(), _owner(kind, name), webhook_id, delivery_id)
        except errors.IndexError_ as exc:
            message, status = _refused(exc)
            return _hook_page(kind, name, webhook_id, status=status, error=message, at="deliveries")
        flash(f"Delivery {delivery_id} queued again.")
        return redirect(f"{_base(kind, name)}/{webhook_id}#deliveries", 303)

    routes = (
        ("", "GET", "webhooks", list_hooks),
        ("", "POST", "create_webhook", create_hook),
        (hook, "GET", "webhook", show_hook),
        (hook + "/<any(edit,disable,enable,rotate,ping,delete):action>", "POST",
         "change_webhook", change),
        (hook + "/deliveries/<delivery_id>/redeliver", "POST", "redeliver_webhook", redeliver),
    )  # fmt: skip
    for suffix, method, endpoint, view in routes:
        bp.add_url_rule(
            prefix + suffix, endpoint=f"{kind}_{endpoint}", view_func=view, methods=[method]
        )


for _kind in PREFIXES:
    _register(_kind)
