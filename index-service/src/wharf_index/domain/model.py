"""Domain dataclasses the adapters return and the services and views use.

They are plain frozen values: no database handles, no lazy loading. Timestamps are
timezone-aware UTC ``datetime`` objects. Secrets (password hashes, token hashes,
credential hashes) never appear here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

ROLES = ("read", "write", "admin")
VISIBILITIES = ("public", "private")
REGISTRY_KINDS = ("private", "sponsor", "mirror", "vendor")
# Whether a registry filters its catalog (Registry.filters_catalog): the administrator's word.
CATALOG_AUTO, CATALOG_FILTERED, CATALOG_UNFILTERED = CATALOG_MODES = (
    "auto",
    "filtered",
    "unfiltered",
)
#: Why a registry is named for a repository: it holds it, or it mirrors a registry that does.
HOLDER, MIRROR = "holder", "mirror"
#: A registry's weight in the rotation (``registry add/update --weight``).
MIN_WEIGHT, DEFAULT_WEIGHT, MAX_WEIGHT = 0, 1, 100
ACTIONS = ("pull", "push", "delete")
# The action an access-token scope must name for repository administration (visibility,
# description, collaborators, deletion of the repository or its tags, webhooks); never
# implied by ``*``, which stands for the registry actions above.
ADMIN_ACTION = "admin"
TOKEN_ACTIONS = (*ACTIONS, ADMIN_ACTION)


@dataclass(frozen=True)
class Namespace:
    """The first component of repository names; owned by one user or one organisation."""

    id: int
    name: str
    kind: str  # "user" | "org"
    default_visibility: str
    created_at: datetime | None = None


@dataclass(frozen=True)
class User:
    """A person or a robot. Robots (``owner+name``) have no namespace, only an owner."""

    id: int
    username: str
    email: str | None
    is_admin: bool = False
    is_robot: bool = False
    namespace_id: int | None = None
    robot_owner_id: int | None = None  # the owning namespace's id, for robots
    disabled: bool = False
    created_at: datetime | None = None
    # Goes up whenever the user's credentials change (password set or reset, account
    # disabled): sessions and refresh tokens made before carry the old value and end.
    credential_epoch: int = 0


@dataclass(frozen=True)
class Organisation:
    """An organisation and its namespace (same name)."""

    id: int
    name: str
    namespace_id: int
    email: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class OrgMember:
    user_id: int
    username: str
    is_owner: bool


@dataclass(frozen=True)
class Team:
    """A team of an organisation: ``role`` on ``all_repositories`` or on chosen ones."""

    id: int
    org_id: int
    name: str
    role: str
    all_repositories: bool = False
    description: str = ""


@dataclass(frozen=True)
class Repository:
    """A repository; ``full_name`` is ``namespace/name`` as clients write it."""

    id: int
    namespace_id: int
    namespace: str
    name: str
    visibility: str
    description: str = ""
    status: str = "active"  # "active" | "deleting"
    push_count: int = 0
    pull_count: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Rows of ``stars`` naming it, kept in ``star_counts`` by triggers (migration 0028):
    # what every list and the API show.
    star_count: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def is_public(self) -> bool:
        return self.visibility == "public"


@dataclass(frozen=True)
class Collaborator:
    repository_id: int
    user_id: int
    username: str
    role: str


@dataclass(frozen=True)
class TokenScope:
    """What an access token may touch: a repository pattern and actions.

    ``repository`` is a full name (``alice/app``), a prefix pattern (``alice/*``: every
    repository under ``alice/``, at any depth) or ``*`` (every repository). ``actions`` are
    registry actions (``pull``, ``push``, ``delete``, ``*`` for all three) and/or ``admin``
    (repository administration; ``*`` does not include it).
    """

    repository: str
    actions: frozenset[str]

    def matches(self, full_name: str) -> bool:
        if self.repository == "*":
            return True
        if self.repository.endswith("/*"):
            return full_name.startswith(self.repository[:-1])
        return full_name == self.repository

    def to_dict(self) -> dict:
        return {"repository": self.repository, "actions": sorted(self.actions)}

    @classmethod
    def from_dict(cls, data: dict) -> TokenScope:
        return cls(data["repository"], frozenset(data["actions"]))


@dataclass(frozen=True)
class AccessToken:
    """A personal or robot access token (never its secret)."""

    id: int
    public_id: str
    user_id: int
    name: str
    scopes: tuple[TokenScope, ...]
    created_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class Registry:
    """A registry the Index knows; ``name`` is the token audience (``service``)."""

    id: int
    name: str
    url: str
    kind: str
    namespaces: tuple[str, ...] = ()
    created_at: datetime | None = None
    #: ``auto``, ``filtered`` or ``unfiltered`` (``registry add/update --catalog``)
    catalog: str = CATALOG_AUTO
    #: when it first called an endpoint of the Index only Wharf's registry calls (None: never)
    wharf_since: datetime | None = None
    #: its share of first places in the rotation (0..100; 0: listed, never first); rotation.py
    weight: int = 1
    #: the name of the registry it mirrors (``registry add/update --upstream``), or None
    upstream: str | None = None

    @property
    def filters_catalog(self) -> bool:
        """Whether its ``/v2/_catalog`` lists each caller only what the caller may pull, so
        ``registry:catalog:*`` may go to everyone: said so, or (``auto``) a Wharf registry
        (it asks the Index; the reference registry lists every name to every holder)."""
        if self.catalog == CATALOG_AUTO:
            return self.wharf_since is not None
        return self.catalog == CATALOG_FILTERED


@dataclass(frozen=True)
class Placement:
    """A registry named for a repository, and why: ``role`` HOLDER (recorded as holding it,
    or before any push the registry that would take the first) or MIRROR (it mirrors one of
    those)."""

    registry: Registry
    role: str


@dataclass(frozen=True)
class Route:
    """Where the Index expects pushes of ``namespace``: ``registries`` (names), first first."""

    namespace: str
    registries: tuple[str, ...]


@dataclass(frozen=True)
class Grants:
    """The roles a user holds, loaded once per request for the policy (see policy.py).

    ``namespaces``: namespace id -> role over *every* repository in it (own namespace and
    owned organisations: admin; teams with all_repositories: the team's role).
    ``repositories``: repository id -> role from collaborations and team grants.
    """

    namespaces: dict[int, str] = field(default_factory=dict)
    repositories: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user (or nobody) and, for access tokens, the scopes they carry.

    ``scopes`` None means unrestricted (password or session login); a tuple limits every
    decision to what one of its entries matches (access tokens, robots). ``address``: the
    client's address as the Docker-facing surfaces see it (api/docker_auth.py), what
    anonymous pull limits count by; "" elsewhere.
    """

    user: User | None = None
    grants: Grants = field(default_factory=Grants)
    scopes: tuple[TokenScope, ...] | None = None
    access_token_id: int | None = None
    address: str = ""

    @property
    def is_anonymous(self) -> bool:
        return self.user is None

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.is_admin

    @property
    def name(self) -> str:
        return self.user.username if self.user is not None else ""


ANONYMOUS = Principal()
# The operator at the command line: an administrator that is no row in ``users`` (id 0).
SYSTEM = Principal(user=User(id=0, username="wharf-index", email=None, is_admin=True))


@dataclass(frozen=True)
class Invitation:
    """An invitation to sign up (never its token): who made it, for which address, until
    when, and whether it was revoked or used (``used_by``: the username it made)."""

    id: int
    email: str | None
    created_by: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    used_at: datetime | None = None
    used_by: str | None = None

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and self.used_at is None and self.expires_at > now
