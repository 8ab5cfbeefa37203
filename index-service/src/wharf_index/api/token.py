"""Blueprint ``auth``: the Docker token endpoint ``/v2/token`` (distribution docs, "Token
Authentication Specification" and "OAuth2 Token Authentication").

``GET /v2/token`` — Basic credentials (password or access token) or none (anonymous);
``service`` (required: a registry name, the audience; unknown -> 400), any number of
``scope`` (each may hold several space-separated scopes), ``offline_token=true`` (an
authenticated caller also gets a ``refresh_token``), ``client_id`` (accepted, optional),
``account`` (when given with credentials it must name the authenticated user, else 400).

``POST /v2/token`` — the OAuth2 form: ``grant_type`` ``password`` (``username``,
``password``) or ``refresh_token`` (``refresh_token``); ``service`` and ``client_id``
required; ``scope`` space-separated; ``access_type=offline`` returns a refresh token (the
same one for ``grant_type=refresh_token``). Its answer adds ``scope`` (the granted scopes).

Answer: 200 ``{"token", "access_token", "expires_in", "issued_at"[, "refresh_token"]}``
(``issued_at`` RFC 3339) with ``Cache-Control: no-store``. The token grants the requested
scopes intersected with what the caller may do; anonymous callers get pull on public
repositories; the registry's kind bounds every grant (domain.policy.registry_actions).
Asking too much is never an error but for the refusals (errors.TokenRefused), 401 ``DENIED``
with the reason: the registry's kind refusing the request outright (policy.kind_refusal:
anonymous at a private registry or a mirror, a push or delete at a mirror, only namespaces
it does not serve), and a push to a repository of the ``library`` organisation (a one-part
name ``app`` is ``library/app``) without the right, "library/app: only members of the
library organisation may push here"; so clients show why (containers/image prints a 401's
body, docker the message). Errors (Index error shape): 400 bad parameters, 401 wrong
credentials or refresh token (with a Basic challenge), 429 throttled (``Retry-After``), 429
``TOOMANYREQUESTS`` in the ``{"errors": [...]}`` envelope when a token that could only pull
is asked for and the caller's pull rate limit is used up (``Retry-After``: the seconds to
the end of the window; services/token_policy.py), 503 ``UNAVAILABLE`` (``Retry-After``)
when the database does not answer within ``INDEX_DB_TOKEN_RESPONSE_TIMEOUT``.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..context import uow
from ..domain import errors
from ..services import tokens
from ..services.credential_cache import login
from . import docker_auth

bp = Blueprint("auth", __name__)
docker_auth.basic_challenge_on_401(bp)
TRUE = ("true", "1", "yes")


def _respond(grant: tokens.TokenGrant, *, oauth: bool = False):
    body = {
        "token": grant.token,
        "access_token": grant.token,
        "expires_in": grant.expires_in,
        "issued_at": grant.issued_at,
    }
    if oauth:
        body["scope"] = " ".join(str(scope) for scope in grant.claims.access)
    if grant.refresh_token:
        body["refresh_token"] = grant.refresh_token
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.get("/v2/token")
@docker_auth.token_path
def get_token():
    """Docker token authentication: issue a bearer token for ``service`` and ``scope``s."""
    args = request.args
    scopes = tokens.parse_scopes(args.getlist("scope"))
    service = args.get("service")
    principal, lookup = docker_auth.principal_for_token(service, scopes)
    account = args.get("account")
    if account and principal.user is not None and account != principal.name:
        raise errors.ValueInvalid("account", "account does not match the credentials")
    offline = args.get("offline_token", "").lower() in TRUE
    grant = tokens.issue(
        uow(), docker_auth.authority(), principal, service, scopes, offline=offline, lookup=lookup
    )
    tokens.refuse_library_push(scopes, grant)
    return _respond(grant)


@bp.post("/v2/token")
@docker_auth.token_path
def post_token():
    """OAuth2 token endpoint: ``grant_type`` password or refresh_token."""
    form = request.form
    for name in ("grant_type", "service", "client_id"):
        if not form.get(name):
            raise errors.ValueInvalid(name, f"{name} is required")
    scopes = tokens.parse_scopes([form.get("scope", "")])
    authority, grant_type = docker_auth.authority(), form["grant_type"]
    refresh_token = None
    if grant_type == "password":
        if not form.get("username") or "password" not in form:
            raise errors.ValueInvalid("username", "username and password are required")
        principal = login(
            uow(),
            authority.cache,
            form["username"],
            form["password"],
            address=docker_auth.client_address(),
        )
    elif grant_type == "refresh_token":
        refresh_token = form.get("refresh_token")
        if not refresh_token:
            raise errors.ValueInvalid("refresh_token", "refresh_token is required")
        principal = tokens.principal_for_refresh(uow(), authority, refresh_token)
    else:
        raise errors.ValueInvalid("grant_type", "grant_type must be password or refresh_token")
    grant = tokens.issue(
        uow(),
        authority,
        docker_auth.addressed(principal),
        form["service"],
        scopes,
        offline=form.get("access_type") == "offline",
        refresh_token=refresh_token,
    )
    tokens.refuse_library_push(scopes, grant)
    return _respond(grant, oauth=True)
