"""SQL for the token authority's hot paths: one indexed query each, the ones every
request runs prepared (adapters/base.py).

- :meth:`PgTokenCheckStore.credential_state`: is a cached credential still good? (the user's
  password generation, credential epoch, disabled flag, the access token's state and,
  when asked, the lock-out of a (name, client address)).
- :meth:`PgTokenCheckStore.revalidation`: the same for a credential-cache hit, with the
  user's grants (adapters/grants.py), in one prepared statement.
- :meth:`PgTokenCheckStore.issuance`: the audience of a token request (the registry named
  by ``service``, its kind, the namespaces it serves, whether it filters its catalog), the
  routes of the requested names' namespaces and the requested repositories that exist, in
  one prepared statement;
  :meth:`PgTokenCheckStore.revalidation_issuance`: both, for a token request with a cached
  credential, in one.
- :meth:`PgTokenCheckStore.quotas`: the storage quotas and use of the namespaces a token
  grants push in (only then), prepared: one indexed lookup per namespace.
- :meth:`PgTokenCheckStore.verification`: the registry's credential hash and the issued-token
  record of a ``jti`` in one round trip (token verification for registries), prepared.
"""

# ruff: noqa: S608 - interpolated parts are constant SQL of this package (grant rows, column
# lists); values always travel as query parameters.

from __future__ import annotations

from ..domain.model import TokenScope, User
from ..domain.records import CredentialState, IssuanceLookup, QuotaState, Verification
from .base import Prepared, Store
from .grants import GRANT_ROWS, grants_of
from .registries import CATALOG_FILTERED
from .repository_rows import REPOSITORY_COLUMNS, repository_from_row

_CREDENTIAL_STATE = """
SELECT u.id, u.username, u.email, u.is_admin, u.is_robot, u.namespace_id, u.robot_owner_id,
       u.disabled, u.created_at, u.credential_epoch, u.password_changed_at,
       t.id IS NOT NULL AND t.revoked_at IS NULL
           AND (t.expires_at IS NULL OR t.expires_at > now()),
       t.scopes,
       (SELECT ceil(extract(epoch FROM f.locked_until - now())) FROM login_failures f
         WHERE f.name_hash = %(name_hash)s AND f.address = %(address)s
           AND f.locked_until > now())
  FROM users u
  LEFT JOIN access_tokens t ON t.id = %(token)s AND t.user_id = u.id
 WHERE {where}
"""

_GRANTS_COLUMN = f"""
       (SELECT array_agg(ARRAY[g.kind::text, g.target::text, g.role::text])
          FROM ({GRANT_ROWS.replace("%(u)s", "%(user)s")}) g(kind, target, role))
"""
_REVALIDATION = Prepared(
    "wharf_revalidation",
    _CREDENTIAL_STATE.format(where="u.id = %(user)s").replace(
        "  FROM users u", "," + _GRANTS_COLUMN + "  FROM users u", 1
    ),
)
#: The routes of the namespaces of the repository names ``%(names)s`` (the part before the
#: first ``/``): a JSON object namespace -> registry names in route order (NULL: none).
_ROUTES_COLUMN = """
       (SELECT jsonb_object_agg(x.namespace, x.registries)
          FROM (SELECT nr.namespace, jsonb_agg(rg.name ORDER BY nr.position) AS registries
                  FROM namespace_routes nr JOIN registries rg ON rg.id = nr.registry_id
                 WHERE nr.namespace IN (SELECT split_part(q.name, '/', 1)
                                          FROM unnest(%(names)s::text[]) q(name))
                 GROUP BY nr.namespace) x)"""
_ISSUANCE = Prepared(
    "wharf_issuance",
    f"""
SELECT g.name,
       coalesce((SELECT array_agg(n.namespace) FROM registry_namespaces n
                  WHERE n.registry_id = g.id), '{{}}'),
       {CATALOG_FILTERED},
       g.kind,{_ROUTES_COLUMN},
       {REPOSITORY_COLUMNS}
  FROM registries g
  LEFT JOIN repositories r ON r.full_name = ANY(%(names)s::text[])
 WHERE g.name = %(service)s
""",
)
# A cached credential's token request: both of the above in one round trip, one row per
# repository found (at least one row; NULL columns where there is no user or registry).
_REVALIDATION_ISSUANCE = Prepared(
    "wharf_revalidation_issuance",
    f"""
SELECT c.*, i.*
  FROM (SELECT 1) one
  LEFT JOIN ({_REVALIDATION.sql}) c ON true
  LEFT JOIN ({_ISSUANCE.sql}) i ON true
""",
)
_STATE_COLUMNS = 15  # of _REVALIDATION
_VERIFICATION = Prepared(
    "wharf_verification",
    """
SELECT g.id, g.name, g.credential_hash, t.kind, t.audience, t.revoked_at IS NOT NULL,
       t.expires_at, g.wharf_since IS NOT NULL
  FROM registries g
  LEFT JOIN issued_tokens t ON t.jti = %(jti)s
 WHERE g.name = %(name)s
""",
)

_QUOTAS = Prepared(
    "wharf_quotas",
    """
SELECT n.name, q.namespace_id IS NOT NULL, q.quota_limit,
       least(coalesce(u.used, 0), 9223372036854775807)::bigint
  FROM namespaces n
  LEFT JOIN namespace_quotas q ON q.namespace_id = n.id
  LEFT JOIN namespace_usage u ON u.namespace_id = n.id
 WHERE n.name = ANY(%(names)s::text[])
""",
)


class PgTokenCheckStore(Store):
    def credential_state(
        self,
        user_id: int | None = None,
        access_token_id: int | None = None,
        *,
        username: str | None = None,
        name_hash: bytes | None = None,
        address: str | None = None,
    ) -> CredentialState | None:
        """Return the state a cached credential is checked against (the user by id, or by
        ``username``), or None when there is no such user. With ``name_hash`` and
        ``address``, ``locked_for`` says how long that (name, address) is locked out."""
        where = "u.id = %(user)s" if username is None else "u.username = %(name)s"
        row = self._one(
            _CREDENTIAL_STATE.format(where=where),
            {
                "user": user_id,
                "name": username,
                "token": access_token_id,
                "name_hash": name_hash,
                "address": address,
            },
        )
        return _credential_state(row) if row is not None else None

    def revalidation(
        self,
        user_id: int,
        access_token_id: int | None,
        *,
        name_hash: bytes | None,
        address: str | None,
    ) -> CredentialState | None:
        """:meth:`credential_state` of the user ``user_id`` with its ``grants``, in one
        prepared statement (a credential-cache hit)."""
        rows, _ = self._prepared(
            _REVALIDATION,
            {"user": user_id, "token": access_token_id, "name_hash": name_hash, "address": address},
        )
        if not rows:
            return None
        return _credential_state(rows[0], grants=grants_of(rows[0][_STATE_COLUMNS - 1] or ()))

    def revalidation_issuance(
        self,
        user_id: int,
        access_token_id: int | None,
        *,
        name_hash: bytes | None,
        address: str | None,
        service: str,
        names: list[str],
    ) -> tuple[CredentialState | None, IssuanceLookup | None]:
        """:meth:`revalidation` and :meth:`issuance` in one prepared statement (a token
        request with a cached credential)."""
        rows, _ = self._prepared(
            _REVALIDATION_ISSUANCE,
            {
                "user": user_id,
                "token": access_token_id,
                "name_hash": name_hash,
                "address": address,
                "service": service,
                "names": list(names),
            },
        )
        first = rows[0]
        state = None
        if first[0] is not None:
            state = _credential_state(first, grants=grants_of(first[_STATE_COLUMNS - 1] or ()))
        return state, _issuance_lookup([row[_STATE_COLUMNS:] for row in rows])

    def issuance(self, service: str, names: list[str]) -> IssuanceLookup | None:
        """The registry called ``service`` (its name and served namespaces), the routes of
        the namespaces of ``names`` and those of the repositories ``names`` that exist; None
        for an unknown registry. One prepared statement."""
        rows, _ = self._prepared(_ISSUANCE, {"service": service, "names": list(names)})
        return _issuance_lookup(rows)

    def verification(self, registry_name: str, jti: str | None) -> Verification | None:
        """Return the registry called ``registry_name`` with the record of ``jti``; None for
        an unknown registry. Token fields are None when ``jti`` was never issued."""
        rows, _ = self._prepared(_VERIFICATION, {"name": registry_name, "jti": jti})
        if not rows:
            return None
        rid, name, credential_hash, kind, audience, revoked, expires_at, wharf = rows[0]
        return Verification(
            rid, name, bytes(credential_hash), kind, audience, bool(revoked), expires_at, wharf
        )

    def audience(
        self, service: str, names: list[str]
    ) -> tuple[int, str, list[str], bool, str, dict[str, tuple[str, ...]]] | None:
        """Return (id, name, served namespaces, whether it filters its catalog, kind, the
        routes of the namespaces of the repository names ``names``) of the registry called
        ``service`` (None if unknown; an empty list: it declared none). One round trip."""
        row = self._one(
            "SELECT g.id, g.name, coalesce((SELECT array_agg(n.namespace)"
            f" FROM registry_namespaces n WHERE n.registry_id = g.id), '{{}}'), {CATALOG_FILTERED},"
            f" g.kind,{_ROUTES_COLUMN} FROM registries g WHERE g.name = %(service)s",
            {"service": service, "names": list(names)},
        )
        return None if row is None else (*row[:5], _routes(row[5]))

    def quotas(self, namespaces: list[str]) -> list[QuotaState]:
        """The quota settings and use of those of ``namespaces`` that exist, in one
        prepared statement (a token granting push)."""
        rows, _ = self._prepared(_QUOTAS, {"names": list(namespaces)})
        return [
            QuotaState(name, bool(chosen), limit, int(used)) for name, chosen, limit, used in rows
        ]


def _issuance_lookup(rows: list[tuple]) -> IssuanceLookup | None:
    """The IssuanceLookup of the rows of :data:`_ISSUANCE` (None: no registry)."""
    if not rows or rows[0][0] is None:
        return None
    repositories = [repository_from_row(row[5:]) for row in rows if row[5] is not None]
    return IssuanceLookup(
        audience=rows[0][0],
        namespaces=frozenset(rows[0][1]),
        repositories={repo.full_name: repo for repo in repositories},
        catalog_filtered=bool(rows[0][2]),
        kind=rows[0][3],
        routes=_routes(rows[0][4]),
    )


def _routes(value: dict | None) -> dict[str, tuple[str, ...]]:
    """The routes column (:data:`_ROUTES_COLUMN`) as namespace -> registry names."""
    return {namespace: tuple(names) for namespace, names in (value or {}).items()}


def _credential_state(row: tuple, grants=None) -> CredentialState:
    """The CredentialState of a row of :data:`_CREDENTIAL_STATE`."""
    uid, username, email, admin, robot, ns_id, owner_id, disabled, created, epoch = row[:10]
    user = User(
        id=uid,
        username=username,
        email=email,
        is_admin=admin,
        is_robot=robot,
        namespace_id=ns_id,
        robot_owner_id=owner_id,
        disabled=disabled,
        created_at=created,
        credential_epoch=epoch,
    )
    scopes = tuple(TokenScope.from_dict(s) for s in row[12]) if row[12] is not None else None
    return CredentialState(user, row[10], bool(row[11]), scopes, int(row[13] or 0), grants=grants)
