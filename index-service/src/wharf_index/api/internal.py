"""Blueprint ``internal``: what registries call (wharf_protocol.client is the other side).

Both endpoints authenticate the registry with HTTP Basic ``NAME:credential`` (the credential
``wharf-index registry add`` printed): unknown registry, wrong or missing credential -> 401.

``POST /internal/v1/tokens/verify`` ``{"token": "..."}`` -> 200 ``{"claims": {...}}`` when
the token is genuine, in its validity window (with ``INDEX_TOKEN_LEEWAY``), issued by this
Index for the calling registry's name and neither revoked nor unknown; else 422
``{"error": {"code": "TOKEN_INVALID", "message", "detail": {"reason": ...}}}`` with reason
``malformed``, ``bad_signature``, ``expired``, ``not_yet_valid``, ``wrong_issuer``,
``wrong_audience``, ``unknown`` or ``revoked``; 503 ``UNAVAILABLE`` when the database does
not answer within ``INDEX_DB_TOKEN_RESPONSE_TIMEOUT`` (the registry's client retries).
A body that is not a JSON object (not JSON, or nested deeper than wharf_protocol.jsondepth
allows) holds no token: ``malformed``.

``POST /internal/v1/events`` (Content-Type: either events media type, or application/json;
other types 415): the notification envelope; 200 ``{"accepted": n, "duplicates": m,
"refused": [{"id", "reason"}]}`` -- refused events (for namespaces the registry does not
serve) are acknowledged and never applied, a replay of one is a duplicate; a malformed
envelope (bad names, digests, sizes outside [0, 2**63)) -> 400 ``EVENTS_INVALID`` naming
the event and field, and nothing applied (the registry then sends its events one by one and
sets aside only the malformed ones). Wharf's extension events (``wharf.gc``,
``wharf.quota_refused``) are accepted here and become audit rows; an empty envelope applies
nothing (a registry's readiness check). services/events.py describes the effects.

``POST /internal/v1/catalog/pullable`` ``{"token": "...", "names": [...]}`` -> 200
``{"names": [...]}``: which of ``names`` (up to 1000 repository names of the registry's
catalog) the caller the token stands for may pull at that registry, its kind and namespaces
applied as token issuance applies them (administrators: every name the kind and namespaces
let them pull; the Index's own ``registry sync`` tokens: all), so the registry's
``/v2/_catalog`` lists exactly those (services/catalog.py). The token must be one the
Index issued for the calling registry granting ``registry:catalog``, unrevoked: else 422
``TOKEN_INVALID`` (reason ``unknown``); bad ``names``: 400 ``VALUE_INVALID``.

A registry calling the first or the last endpoint is a Wharf registry, which filters its
catalog: the Index records that once (services/registries.py, ``note_wharf``) and from then
on grants ``registry:catalog:*`` for it to every caller (services/tokens.py).
"""

from __future__ import annotations

from flask import Blueprint, request
from wharf_protocol import jsondepth
from wharf_protocol.errcode import ApiError
from wharf_protocol.events import is_events_media_type
from wharf_protocol.tokens import TokenError

from ..context import uow
from ..domain import errors, policy
from ..services import catalog, events, metrics, registries, tokens
from . import docker_auth

bp = Blueprint("internal", __name__)
docker_auth.basic_challenge_on_401(bp)


def _json_body() -> object:
    """The JSON body, or None when it is not JSON (or nests deeper than jsondepth allows)."""
    if not request.is_json:
        return None
    try:
        return jsondepth.loads(request.get_data())
    except ValueError:  # not JSON, not decodable, JsonTooDeep
        return None


@bp.post("/internal/v1/tokens/verify")
@docker_auth.token_path
def verify_token():
    """Scenario A steps 4-5: tell a registry whether a token is genuine, and its claims."""
    name, credential = docker_auth.registry_credentials()
    body = _json_body()
    token = body.get("token") if isinstance(body, dict) else None
    try:
        claims = tokens.verify_for_registry(uow(), docker_auth.authority(), name, credential, token)
    except TokenError:
        metrics.token_verification("invalid")
        raise
    except errors.RegistryCredentialInvalid:
        metrics.token_verification("unauthorized")
        raise
    metrics.token_verification("valid")
    return {"claims": claims.to_dict()}


@bp.post("/internal/v1/events")
def post_events():
    """Take a registry's events (push, pull, delete, mount); apply each event id once."""
    registry = registries.authenticate_registry(uow(), *docker_auth.registry_credentials())
    content_type = (request.mimetype or "").lower()
    if not (is_events_media_type(content_type) or content_type == "application/json"):
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", "send an events envelope", 415)
    result = events.ingest(uow(), registry, events.parse(request.get_data()))
    refused = [{"id": r.id, "reason": r.reason} for r in result.refused]
    return {"accepted": result.accepted, "duplicates": result.duplicates, "refused": refused}


@bp.post("/internal/v1/catalog/pullable")
@docker_auth.token_path
def pullable_names():
    """Tell a registry which names of a page of its catalog its caller may pull."""
    registry = registries.authenticate_registry(uow(), *docker_auth.registry_credentials())
    registries.note_wharf(uow(), registry.id, registry.wharf_since is not None)
    body = _json_body()
    body = body if isinstance(body, dict) else {}
    token = body.get("token")
    try:
        if not isinstance(token, str) or not token:
            raise errors.AuthenticationFailed("invalid token")
        principal = tokens.principal_for_listing(
            uow(), docker_auth.authority(), token, audience=registry.name
        )
    except errors.AuthenticationFailed:
        raise tokens.TokenUnknown(
            "not a catalog token the Index issued for this registry"
        ) from None
    rules = policy.RegistryRules.of(registry)
    return {"names": catalog.pullable(uow(), principal, body.get("names"), rules)}
