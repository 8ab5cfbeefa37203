"""The registry directory: add (credential shown once), list, update, remove, authenticate.

A registry's ``name`` is the token audience (the ``service`` parameter Docker sends). It
calls the Index with HTTP Basic ``name:credential``; the credential is 256 random bits,
stored as an HMAC (credentials.py).

Whether a registry filters its catalog (Registry.filters_catalog; the Index grants
``registry:catalog:*`` to non-administrators only for those, services/tokens.py) is the
administrator's word (``catalog``: ``filtered`` or ``unfiltered``) or, by default
(``auto``), whether it ever called an endpoint only Wharf's registry calls:
``/internal/v1/tokens/verify`` or ``/internal/v1/catalog/pullable`` (:func:`note_wharf`).
Events do not count: the reference registry can send its notifications to the Index too.

A registry's ``kind`` (REGISTRY_KINDS) is a policy the token authority enforces
(domain.policy.registry_actions; the README's "Registry kinds"): a ``mirror`` or ``vendor``
serves only the namespaces it declared, so it must declare at least one.

Chaining (services/chaining.py): a registry of kind ``mirror`` may name the registry it
mirrors (``upstream``), never itself nor, through a chain, one of its own mirrors; its
``weight`` (0..100, default 1) is its share of first places in the rotation.
"""

from __future__ import annotations

import re
from datetime import datetime

from wharf_protocol.names import namespace_of

from ..domain import errors
from ..domain.model import (
    CATALOG_AUTO,
    CATALOG_MODES,
    DEFAULT_WEIGHT,
    MAX_WEIGHT,
    MIN_WEIGHT,
    REGISTRY_KINDS,
    SYSTEM,
    Principal,
    Registry,
)
from ..domain.names import NAMESPACE_RE
from ..domain.policy import OWN_NAMESPACE_KINDS
from ..domain.records import OutboxStatus
from ..domain.registry_client import RegistryClient
from . import audit, credentials
from .routes import expected_registries
from .unit_of_work import UnitOfWork

#: ``update_registry``'s "not given" (None is a value there: no upstream).
UNCHANGED = object()

REGISTRY_NAME_RE = re.compile(r"[a-z0-9]([a-z0-9._:-]*[a-z0-9])?")
MAX_REGISTRY_NAME = 253
#: http(s), a host name or IPv4 address (dot-separated labels of 1..63 characters) or an
#: IPv6 literal in brackets (RFC 3986 section 3.2.2), an optional port (1..65535), an
#: optional path of printable ASCII (no spaces: the URL is used as is).
_H16 = "[0-9A-Fa-f]{1,4}"
#: RFC 4291 section 2.2's text forms, written out (no embedded IPv4, no zone ids).
_IPV6 = "|".join(
    (
        f"(?:{_H16}:){{7}}{_H16}",
        f"(?:{_H16}:){{1,7}}:",
        *(f"(?:{_H16}:){{1,{6 - n}}}(?::{_H16}){{1,{n + 1}}}" for n in range(6)),
        f":(?:(?::{_H16}){{1,7}}|:)",
    )
)
#: ``http(s)://host[:port]``, the part registry and webhook URLs share.
URL_AUTHORITY = (
    rf"https?://(?:[A-Za-z0-9-]{{1,63}}(?:\.[A-Za-z0-9-]{{1,63}})*|\[(?:{_IPV6})\])"
    r"(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]"
    r"|6553[0-5]))?"
)
REGISTRY_URL_RE = re.compile(URL_AUTHORITY + r"(?:/[!-~]*)?")
MAX_REGISTRY_URL = 2048
#: Seconds the administration page waits for the registries' statuses, all asked at once.
STATUS_TIMEOUT = 2.0


def _check(name: str, url: str, kind: str, namespaces) -> tuple[str, ...]:
    if (
        not isinstance(name, str)
        or len(name) > MAX_REGISTRY_NAME
        or not REGISTRY_NAME_RE.fullmatch(name)
    ):
        raise errors.NameInvalid(name, "registry names are lowercase host-like names")
    if (
        not isinstance(url, str)
        or len(url) > MAX_REGISTRY_URL
        or not REGISTRY_URL_RE.fullmatch(url)
    ):
        raise errors.ValueInvalid("url", "the registry URL must be http:// or https://")
    _check_kind(kind)
    namespaces = tuple(dict.fromkeys(namespaces or ()))
    for namespace in namespaces:
        if not isinstance(namespace, str) or not NAMESPACE_RE.fullmatch(namespace):
            raise errors.NameInvalid(namespace, "invalid namespace")
    _check_kind_namespaces(kind, namespaces)
    return namespaces


def _check_kind(kind: object) -> None:
    if kind not in REGISTRY_KINDS:
        raise errors.ValueInvalid("kind", f"kind must be one of {', '.join(REGISTRY_KINDS)}")


def _check_kind_namespaces(kind: str, namespaces) -> None:
    """A kind that serves only its declared namespaces needs some (policy.OWN_NAMESPACE_KINDS;
    without any it would serve nothing)."""
    if kind in OWN_NAMESPACE_KINDS and not namespaces:
        raise errors.ValueInvalid(
            "namespaces", f"a {kind} registry serves only its namespaces: name at least one"
        )


def _check_catalog(catalog: object) -> str:
    if catalog not in CATALOG_MODES:
        raise errors.ValueInvalid("catalog", f"catalog must be one of {', '.join(CATALOG_MODES)}")
    return catalog  # type: ignore[return-value]


def _check_weight(weight: object) -> int:
    if (
        isinstance(weight, bool)
        or not isinstance(weight, int)
        or not MIN_WEIGHT <= weight <= MAX_WEIGHT
    ):
        raise errors.ValueInvalid(
            "weight", f"weight must be an integer from {MIN_WEIGHT} to {MAX_WEIGHT}"
        )
    return weight


def _upstream_id(uow: UnitOfWork, name: str, kind: str, upstream: object) -> int | None:
    """The id of the registry ``name`` (of ``kind``) may mirror, ``upstream`` (None: none).

    Raises StateConflict (409: well-formed, refused by what is recorded): not a mirror,
    unknown upstream, itself or one of its own mirrors (a cycle). Inside the caller's
    transaction."""
    if upstream is None:
        return None
    if kind != "mirror":
        raise errors.StateConflict("upstream", "only a registry of kind mirror has an upstream")
    found = uow.registries.find(upstream) if isinstance(upstream, str) else None
    if found is None:
        raise errors.StateConflict("upstream", f"no registry named {upstream!s:.253}")
    by_name = {r.name: r for r in uow.registries.list()}
    step: Registry | None = found
    for _ in range(len(by_name) + 1):  # a chain visits each registry at most once
        if step is None:
            break
        if step.name == name:
            raise errors.StateConflict("upstream", f"{upstream} mirrors {name}: that is a cycle")
        step = by_name.get(step.upstream) if step.upstream else None
    return found.id


def add_registry(
    uow: UnitOfWork,
    name: str,
    url: str,
    kind: str,
    namespaces=(),
    *,
    catalog: str = CATALOG_AUTO,
    weight: int = DEFAULT_WEIGHT,
    upstream: str | None = None,
    actor: Principal = SYSTEM,
) -> tuple[Registry, str]:
    """Record a registry; return (registry, credential). The credential is never shown again.

    Raises NameInvalid, ValueInvalid, RegistryExists, PermissionDenied (non-admins).
    """
    if not actor.is_admin:
        raise errors.PermissionDenied()
    namespaces = _check(name, url, kind, namespaces)
    catalog = _check_catalog(catalog)
    weight = _check_weight(weight)
    if name == uow.config.index_service:
        raise errors.NameInvalid(name, "that is the Index's own service name (INDEX_TOKEN_ISSUER)")
    credential = credentials.new_secret()
    with uow:
        registry = uow.registries.create(
            name,
            url.rstrip("/"),
            kind,
            credentials.hash_secret(credentials.PURPOSE_REGISTRY, credential),
            namespaces,
            catalog,
            weight,
            _upstream_id(uow, name, kind, upstream),
        )
        if registry is None:
            raise errors.RegistryExists(name)
        detail = {
            "url": registry.url,
            "kind": kind,
            "namespaces": list(namespaces),
            "catalog": catalog,
            "weight": weight,
            "upstream": upstream,
        }
        audit.record(uow, actor, "registry.add", "registry", name, detail=detail)
        return registry, credential


def rotate_credential(uow: UnitOfWork, name: str, *, actor: Principal = SYSTEM) -> str:
    """Replace a registry's credential; return the new one (shown once)."""
    if not actor.is_admin:
        raise errors.PermissionDenied()
    credential = credentials.new_secret()
    with uow:
        registry = uow.registries.get(name)
        uow.registries.set_credential_hash(
            registry.id, credentials.hash_secret(credentials.PURPOSE_REGISTRY, credential)
        )
        audit.record(uow, actor, "registry.rotate_credential", "registry", name)
    return credential


def set_catalog(uow: UnitOfWork, name: str, catalog: str, *, actor: Principal = SYSTEM) -> Registry:
    """Say whether a registry filters its catalog: ``filtered``, ``unfiltered`` or ``auto``
    (module doc); return the registry. Raises ValueInvalid, RegistryNotFound,
    PermissionDenied."""
    return update_registry(uow, name, catalog=catalog, actor=actor)


def update_registry(
    uow: UnitOfWork,
    name: str,
    *,
    kind: object = UNCHANGED,
    catalog: object = UNCHANGED,
    weight: object = UNCHANGED,
    upstream: object = UNCHANGED,
    actor: Principal = SYSTEM,
) -> Registry:
    """Change what is given of the registry's kind, catalog word, weight and upstream (None:
    no longer a mirror of any); one transaction, one audit row naming what changed. A new
    kind applies from the next token issued (tokens already issued keep what they grant
    until they expire, INDEX_TOKEN_TTL). Return the registry. Raises ValueInvalid (nothing
    given, bad values, a mirror or vendor without namespaces), StateConflict (an upstream
    refused, see _upstream_id; a registry that keeps an upstream must stay a mirror),
    RegistryNotFound, PermissionDenied."""
    if not actor.is_admin:
        raise errors.PermissionDenied()
    detail: dict[str, object] = {}
    if kind is not UNCHANGED:
        _check_kind(kind)
        detail["kind"] = kind
    if catalog is not UNCHANGED:
        detail["catalog"] = _check_catalog(catalog)
    if weight is not UNCHANGED:
        detail["weight"] = _check_weight(weight)
    if not detail and upstream is UNCHANGED:
        raise errors.ValueInvalid("_body", "give kind, catalog, weight and/or upstream")
    with uow:
        registry = uow.registries.get(name)
        if kind is not UNCHANGED:
            _check_kind_namespaces(kind, registry.namespaces)
            keeps_upstream = registry.upstream and upstream is UNCHANGED
            if kind != "mirror" and keeps_upstream:
                raise errors.StateConflict(
                    "kind", f"{name} mirrors {registry.upstream}: clear its upstream first"
                )
            uow.registries.set_kind(registry.id, kind)
            detail["previous_kind"] = registry.kind
        if catalog is not UNCHANGED:
            uow.registries.set_catalog(registry.id, detail["catalog"])
        if weight is not UNCHANGED:
            uow.registries.set_weight(registry.id, detail["weight"])
        if upstream is not UNCHANGED:
            now_kind = registry.kind if kind is UNCHANGED else kind
            upstream_id = _upstream_id(uow, name, now_kind, upstream)
            if upstream_id is not None and uow.routing.routed_namespaces(registry.id):
                raise errors.StateConflict(
                    "upstream", f"{name} is in a namespace route; a mirror takes no pushes"
                )
            uow.registries.set_upstream(registry.id, upstream_id)
            detail["upstream"] = upstream
        audit.record(uow, actor, "registry.update", "registry", name, detail=detail)
        return uow.registries.get(name)


def set_kind(uow: UnitOfWork, name: str, kind: str, *, actor: Principal = SYSTEM) -> Registry:
    """Change a registry's kind (the policy its tokens follow from the next one issued;
    tokens already issued keep what they grant until they expire, INDEX_TOKEN_TTL); return
    the registry. Raises ValueInvalid (unknown kind; a mirror or vendor without namespaces),
    RegistryNotFound, PermissionDenied."""
    return update_registry(uow, name, kind=kind, actor=actor)


def note_wharf(uow: UnitOfWork, registry_id: int, known: bool) -> None:
    """Record that the registry ``registry_id`` called an endpoint only Wharf's registry
    calls, having authenticated with its credential; ``known``: already recorded, so
    nothing is written (one write per registry, not per call)."""
    if not known:
        with uow:
            uow.registries.note_wharf(registry_id)


def list_registries(uow: UnitOfWork) -> list[Registry]:
    with uow:
        return uow.registries.list()


def last_events(uow: UnitOfWork) -> dict[str, datetime]:
    """Registry name -> when the Index last applied an event from it, for those with one
    within INDEX_EVENT_RETENTION (older event ids are pruned); :func:`outbox_statuses`
    says what each still holds back."""
    with uow:
        by_id = uow.registries.last_events()
        return {r.name: by_id[r.id] for r in uow.registries.list() if r.id in by_id}


def outbox_statuses(
    client: RegistryClient, found: list[Registry], timeout: float = STATUS_TIMEOUT
) -> dict[str, OutboxStatus]:
    """Registry name -> its outbox backlog as it reports it (``GET /status``), every
    registry asked at once and none waited for longer than ``timeout`` seconds: a
    registry without an answer by then is ``unreachable``."""
    return client.outbox_statuses(found, timeout)


def get_registry(uow: UnitOfWork, name: str) -> Registry:
    with uow:
        return uow.registries.get(name)


def holders(uow: UnitOfWork, full_name: str) -> list[Registry]:
    """Registries holding the repository ``full_name``, by name: the one answer for
    ``X-Docker-Endpoints`` (and the audience of the handshake's token), ``GET
    /api/v1/repositories/NAME/-/registries`` and the registries a deletion calls.

    Those recorded as holding it (their manifest-push events, ``registry sync``); for a
    repository none is recorded for (allocated, nothing pushed yet; or unknown) the
    registries that would take its first push (services.routes.expected_registries: its
    namespace's route, else those that declared its namespace, else those registered
    without namespaces). Mirrors are not holders: services/chaining.py adds them.
    """
    with uow:
        held = uow.registries.holding(full_name)
        if held:
            return held
        return expected_registries(uow, namespace_of(full_name))


def remove_registry(uow: UnitOfWork, name: str, *, actor: Principal = SYSTEM) -> None:
    """Forget a registry (its credential stops working at once). RegistryNotFound."""
    if not actor.is_admin:
        raise errors.PermissionDenied()
    with uow:
        registry = uow.registries.get(name)
        uow.registries.delete(registry.id)
        audit.record(uow, actor, "registry.remove", "registry", name)


def authenticate_registry(uow: UnitOfWork, name: str, credential: str) -> Registry:
    """Return the registry whose Basic ``name:credential`` this is.

    Raises RegistryCredentialInvalid for unknown names and wrong credentials alike.
    """
    if not isinstance(name, str) or not isinstance(credential, str):
        raise errors.RegistryCredentialInvalid()
    with uow:
        found = uow.registries.with_hash(name)
    if found is None or not credentials.matches(credentials.PURPOSE_REGISTRY, credential, found[1]):
        raise errors.RegistryCredentialInvalid()
    return found[0]
