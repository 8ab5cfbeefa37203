"""The one auth decorator: ``@require_access(action)`` (one seam, not a stack).

For every request it: checks the repository name in the URL (``NAME_INVALID`` for a bad
name, including one smuggled in with an encoded slash ``%2F``), computes the scopes the
endpoint needs, asks the configured :class:`~wharf_registry.auth.Authenticator` to
authenticate and authorize, and stores the identity on ``g.identity``. A 401 carries the
backend's challenge (with the refusal's ``error``, e.g. ``insufficient_scope``); in read-only
mode pushes and deletes are refused with 405 ``UNSUPPORTED``, and so are deletes when they are
disabled (``REGISTRY_STORAGE_DELETE_ENABLED=false``, the reference registry's answer), and
pushes and deletes into a repository the pull-through cache mirrors (the reference
registry's answer in proxy mode; the message names the upstream to push to).

A one-part name (``/v2/app/...``) is the repository ``library/app`` (Docker Hub's rule,
``wharf_protocol.names.full_repository_name``): the view, the scopes, the challenge, storage
and events all get the full name, so ``HOST/app`` and ``HOST/library/app`` are one
repository. A push refused there says who may push to ``library``.

Scopes per request, as the reference registry computes them (``appendAccessRecords``):
``pull`` for GET/HEAD, ``pull`` + ``push`` for uploads and manifest PUT, ``delete`` for DELETE,
``registry:catalog:*`` for the catalog, none for ``/v2/`` (any valid credential). A mount
(``POST ...?mount=&from=``) also names ``repository:<from>:pull`` in the challenge so that
clients ask for it; a token without it gets no 401: the mount is just not done (202, a new
upload session, as the spec allows), see ``uploads._mount``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g, request
from wharf_protocol.names import (
    LIBRARY_NAMESPACE,
    NameInvalid,
    full_repository_name,
    namespace_of,
    validate_repository_name,
)
from wharf_protocol.scopes import Scope

from ..auth import AccessDenied, AuthenticationRequired, Identity
from .helpers import services

WRITE_ACTIONS = frozenset({"push", "delete"})


class ReadOnly(Exception):
    """The registry is in read-only mode and the request would write."""


class DeleteDisabled(ReadOnly):
    """Deletes are disabled (storage.delete.enabled false); answered like read-only."""


def require_access(action: str | None) -> Callable:
    """Decorate a view needing ``action`` (pull|push|delete|catalog, None: authenticated)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            name = kwargs.get("name")
            if name is not None:
                name = kwargs["name"] = _checked_name(name)
            scopes = _scopes(action, name)
            auth = services().auth
            try:
                g.identity = auth.authenticate(request)
                auth.authorize(g.identity, scopes)
            except AuthenticationRequired as exc:
                exc.challenge = auth.challenge(scopes + _mount_scopes(action), exc.error)
                _explain_library(exc, action, kwargs.get("name"))
                raise
            settings = services().settings
            if action in WRITE_ACTIONS and settings.read_only:
                raise ReadOnly(f"the registry is read-only: {action} refused")
            if action == "delete" and not settings.delete_enabled:
                raise DeleteDisabled("deletes are disabled on this registry")
            mirror = services().mirror
            if action in WRITE_ACTIONS and name is not None and mirror is not None:
                mirror.refuse_write(kwargs["name"])
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _explain_library(exc: AuthenticationRequired, action: str | None, name: str | None) -> None:
    """Say why a push into ``library`` is refused, rather than only "insufficient scope"."""
    if action == "push" and name and namespace_of(name) == LIBRARY_NAMESPACE and exc.error:
        exc.message = f"{name}: only members of the {LIBRARY_NAMESPACE} organisation may push here"
        if name.count("/") == 1:
            exc.message += f" (a one-part name like {name.split('/', 1)[1]} is {name})"
        exc.args = (exc.message,)


def may_access(identity: Identity, scope: Scope) -> bool:
    """Tell whether ``identity`` is granted ``scope`` (used for mount's source repository)."""
    try:
        services().auth.authorize(identity, [scope])
    except (AccessDenied, AuthenticationRequired):
        return False
    return True


def _checked_name(name: str) -> str:
    """The URL's repository name, checked, a one-part name as ``library/<name>``."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    if "%2f" in raw.split("?", 1)[0].lower():
        raise NameInvalid("encoded slashes are not allowed in repository names")
    limit = services().settings.max_name_length
    return validate_repository_name(
        full_repository_name(validate_repository_name(name, limit)), limit
    )


def _scopes(action: str | None, name: str | None) -> list[Scope]:
    if action is None:
        return []
    if action == "catalog":
        return [Scope("registry", "catalog", frozenset({"*"}))]
    actions = {"pull", "push"} if action == "push" else {action}
    return [Scope("repository", name, frozenset(actions))]


def _mount_scopes(action: str | None) -> list[Scope]:
    """Return ``repository:<from>:pull`` for a mount request with a valid ``from``."""
    source = request.args.get("from")
    if action != "push" or not request.args.get("mount") or not source:
        return []
    try:
        limit = services().settings.max_name_length
        source = validate_repository_name(full_repository_name(source), limit)
    except NameInvalid:
        return []
    return [Scope("repository", source, frozenset({"pull"}))]
