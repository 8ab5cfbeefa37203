"""``/admin``: the administrators' pages over the same services as the admin API.

- ``/admin``: links to the pages below (and ``/admin/invitations``).
- ``/admin/users``: users by name (paged, filtered by a part of the name); create one (a
  password given, or a generated one shown once); disable, enable, grant or revoke
  administrator rights, delete (services/accounts.py, as ``/api/v1/users``).
- ``/admin/registries``: the registry directory with when each last sent an event the
  Index applied and its outbox backlog as it reports it (every registry asked at once, the
  page waits at most services.registries.STATUS_TIMEOUT seconds); add one and rotate its
  credential (the credential shown once), change its kind, weight and upstream
  (services.registries.update_registry, as ``registry update`` and ``PATCH
  /api/v1/registries/NAME``: only what the form changed; a refusal re-shows the form
  with the reason), remove (services/registries.py, as ``/api/v1/registries``).
- ``/admin/audit``: the audit log, newest first, paged, filtered by actor, action,
  namespace and time range (services/audit_log.py, as ``/api/v1/audit``).

Anyone who is not an administrator, signed in or not, gets 404 "Not found" for every one
of these addresses (the pages' existence is not advertised; no sign-in redirect).

A secret (a generated password, a registry credential) is shown once, in the answer to the
form that made it (``Cache-Control: no-store``, security.py); it is never put in the session
cookie nor a URL, so there is no redirect after those forms.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask import abort, redirect, render_template, request, url_for

from ..api.errors import to_api_error
from ..api.rest.auth import end_session
from ..api.rest.pagination import decode_cursor, encode_cursor
from ..context import current, uow
from ..domain import errors
from ..domain.model import REGISTRY_KINDS, Principal, Registry
from ..services import accounts, audit_log, registries, routes
from ..services.paging import take
from . import bp
from .session import check_form, principal

USERS_PAGE = 50
AUDIT_PAGE = 50
MAX_FILTER = 255
FILTERS = ("actor", "action", "namespace", "since", "until")
#: The user actions of the users page: form value -> (service call, its arguments).
USER_ACTIONS = {
    "disable": (accounts.set_disabled, (True,)),
    "enable": (accounts.set_disabled, (False,)),
    "grant_admin": (accounts.set_admin, (True,)),
    "revoke_admin": (accounts.set_admin, (False,)),
    "delete": (accounts.delete_user, ()),
}


def _admin() -> Principal:
    """The signed-in administrator; 404 for everyone else (anonymous visitors included)."""
    caller = principal()
    if not caller.is_admin:
        abort(404)
    return caller


def _text(source, name: str) -> str:
    """A form or query field, stripped, at most :data:`MAX_FILTER` characters."""
    value = source.get(name, "").strip()
    if len(value) > MAX_FILTER or "\x00" in value:
        raise errors.ValueInvalid(name, f"at most {MAX_FILTER} characters")
    return value


def _failure(exc: errors.IndexError_) -> tuple[str, int]:
    error = to_api_error(exc)
    return error.message, error.status


@bp.get("/admin")
def admin_home():
    _admin()
    return render_template("admin/home.html")


# -- users -------------------------------------------------------------------------------


@bp.get("/admin/users")
def admin_users():
    _admin()
    return _users_page()


def _users_page(error: str | None = None, status: int = 200, form: dict | None = None):
    wanted = request.args.get("q", "").strip()[:MAX_FILTER]
    cursor = request.args.get("cursor")
    after = decode_cursor("web-admin-users", (str,), cursor)[0] if cursor else None
    rows = accounts.list_users(
        uow(), after=after, limit=USERS_PAGE + 1, robots=False, containing=wanted or None
    )
    page = take(rows, USERS_PAGE, lambda u: (u.username,))
    following = encode_cursor("web-admin-users", page.next) if page.next else None
    body = render_template(
        "admin/users.html",
        name_q=wanted,  # not ``q``: base.html fills the site's search box with that
        users=page.items,
        next_cursor=following,
        first_page=cursor is None,
        error=error,
        form=form or {},
        me=principal().user,
    )
    return body, status


@bp.post("/admin/users")
def admin_create_user():
    caller = _admin()
    check_form()
    form = {name: request.form.get(name, "").strip() for name in ("username", "email")}
    password = request.form.get("password", "")
    generated = not password
    if generated:
        password = secrets.token_urlsafe(18)  # 144 random bits, 24 URL-safe characters
    try:
        user = accounts.create_user(
            uow(),
            form["username"],
            form["email"],
            password,
            admin=request.form.get("admin") == "on",
            actor=caller,
        )
    except errors.IndexError_ as exc:
        message, status = _failure(exc)
        return _users_page(message, status, form)
    if not generated:
        return redirect(url_for("web.admin_users", q=user.username), 303)
    body = render_template("admin/user_created.html", new_user=user, password=password)
    return body, 201


@bp.post("/admin/users/<username>")
def admin_update_user(username: str):
    caller = _admin()
    check_form()
    action = USER_ACTIONS.get(request.form.get("action", ""))
    if action is None:
        return _users_page("Unknown action.", 400)
    call, arguments = action
    try:
        call(uow(), username, *arguments, actor=caller)
    except errors.IndexError_ as exc:
        return _users_page(*_failure(exc))
    if username == caller.user.username and request.form["action"] in ("delete", "disable"):
        end_session()  # the account is gone or disabled: so is this session
        return redirect(url_for("web.home"), 303)
    return redirect(url_for("web.admin_users", q=request.args.get("q") or None), 303)


# -- registries --------------------------------------------------------------------------


@bp.get("/admin/registries")
def admin_registries():
    _admin()
    return _registries_page()


def _registries_page(
    error: str | None = None,
    status: int = 200,
    form: dict | None = None,
    change: dict | None = None,
):
    """The page; ``error`` with ``form`` re-shows the add form, with ``change`` (the
    registry's ``name`` and the values sent) that registry's change form."""
    work = uow()
    found = registries.list_registries(work)
    if change is not None and all(r.name != change["name"] for r in found):
        change = None  # removed meanwhile: its form is gone, the error shows above
    body = render_template(
        "admin/registries.html",
        registries=found,
        last_events=registries.last_events(work),
        outboxes=registries.outbox_statuses(current().agent.http, found),
        routes=routes.list_routes(work),
        kinds=REGISTRY_KINDS,
        error=error if change is None else None,
        form=form or {"kind": REGISTRY_KINDS[0]},
        change=change or {},
        change_error=error if change is not None else None,
    )
    return body, status


@bp.post("/admin/registries")
def admin_add_registry():
    caller = _admin()
    check_form()
    form = {name: request.form.get(name, "").strip() for name in ("name", "url", "kind")}
    form["namespaces"] = request.form.get("namespaces", "")
    namespaces = form["namespaces"].replace(",", " ").split()
    try:
        registry, credential = registries.add_registry(
            uow(), form["name"], form["url"], form["kind"], namespaces, actor=caller
        )
    except errors.IndexError_ as exc:
        return _registries_page(*_failure(exc), form)
    body = render_template(
        "admin/registry_credential.html", registry=registry, credential=credential, added=True
    )
    return body, 201


#: At most this many digits of a weight are read as a number (MAX_WEIGHT has three); a
#: longer value goes to the service as text, which refuses it saying what a weight is.
WEIGHT_DIGITS = 3


def _registry_changes(registry: Registry, sent: dict) -> dict:
    """What the change form ``sent`` changes of ``registry``, as update_registry's
    arguments (an empty upstream: none)."""
    weight: object = sent["weight"]
    if weight.isascii() and weight.isdigit() and len(weight) <= WEIGHT_DIGITS:
        weight = int(weight)
    wanted = {"kind": sent["kind"], "weight": weight, "upstream": sent["upstream"] or None}
    now = {"kind": registry.kind, "weight": registry.weight, "upstream": registry.upstream}
    return {field: value for field, value in wanted.items() if value != now[field]}


@bp.post("/admin/registries/<name>")
def admin_update_registry(name: str):
    caller = _admin()
    check_form()
    fields = ("kind", "weight", "upstream")
    try:
        sent = {field: _text(request.form, field) for field in fields}
        changes = _registry_changes(registries.get_registry(uow(), name), sent)
        if changes:
            registries.update_registry(uow(), name, actor=caller, **changes)
    except errors.IndexError_ as exc:
        shown = {field: request.form.get(field, "").strip()[:MAX_FILTER] for field in fields}
        return _registries_page(*_failure(exc), change={"name": name, **shown})
    return redirect(url_for("web.admin_registries"), 303)


@bp.post("/admin/registries/<name>/credential")
def admin_rotate_registry(name: str):
    caller = _admin()
    check_form()
    credential = registries.rotate_credential(uow(), name, actor=caller)
    registry = registries.get_registry(uow(), name)
    return render_template(
        "admin/registry_credential.html", registry=registry, credential=credential, added=False
    )


@bp.post("/admin/registries/<name>/remove")
def admin_remove_registry(name: str):
    caller = _admin()
    check_form()
    registries.remove_registry(uow(), name, actor=caller)
    return redirect(url_for("web.admin_registries"), 303)


# -- audit log ---------------------------------------------------------------------------


def _moment(name: str) -> datetime | None:
    """A ``datetime-local`` field (``YYYY-MM-DDTHH:MM[:SS]``), read as UTC."""
    value = _text(request.args, name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise errors.ValueInvalid(name, "a date and time is YYYY-MM-DDTHH:MM") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@bp.get("/admin/audit")
def admin_audit():
    caller = _admin()
    filters = {name: request.args.get(name, "")[:MAX_FILTER] for name in FILTERS}
    entries, following, error, status = [], None, None, 200
    try:
        cursor = request.args.get("cursor")
        page = audit_log.list_entries(
            uow(),
            caller,
            actor=_text(request.args, "actor") or None,
            action=_text(request.args, "action") or None,
            namespace=_text(request.args, "namespace") or None,
            since=_moment("since"),
            until=_moment("until"),
            after=decode_cursor("web-admin-audit", (int,), cursor) if cursor else None,
            limit=AUDIT_PAGE,
        )
        entries = page.items
        if page.next:
            following = encode_cursor("web-admin-audit", page.next)
    except errors.IndexError_ as exc:
        error, status = _failure(exc)
    body = render_template(
        "admin/audit.html",
        entries=entries,
        filters=filters,
        filters_args={name: value for name, value in filters.items() if value},
        next_cursor=following,
        first_page=request.args.get("cursor") is None,
        error=error,
    )
    return body, status
