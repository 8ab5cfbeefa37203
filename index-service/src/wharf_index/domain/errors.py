"""Domain errors: exceptions with data, no HTTP (api/errors.py maps them to the wire).

Hierarchy::

    IndexError_ (base; named with a trailing underscore so it does not shadow the builtin)
      NotFound > UserNotFound, NamespaceNotFound, OrganisationNotFound, TeamNotFound,
                 RepositoryNotFound, AccessTokenNotFound, RegistryNotFound
      Conflict > UsernameTaken, NamespaceTaken, RepositoryExists, TeamExists, RegistryExists,
                 StateConflict (valid input the current state refuses: last owner, ...),
                 TagImmutable (the tag matches one of its repository's immutable patterns)
      Invalid  > NameInvalid, ReservedName, PasswordInvalid, ScopeInvalid, RoleInvalid,
                 VisibilityInvalid, ValueInvalid
      AuthenticationFailed (wrong credentials; deliberately says nothing about which part)
      LoginThrottled (retry_after seconds)
      PermissionDenied
      RegistryCredentialInvalid
      RegistryCallFailed > RegistryUnavailable (network, timeout, 5xx), RegistryRefused
                           (the registry answered, but not as expected: 401/403/4xx)
    DatabaseUnavailable (no IndexError_: the stores cannot be reached; 503, retry later)
    SigningKeysUnreadable (no IndexError_: INDEX_SECRET_KEY does not decrypt the signing key)

A private repository the caller may not see must be reported as RepositoryNotFound, never
PermissionDenied, so outsiders cannot learn that it exists.
"""

from __future__ import annotations


class IndexError_(Exception):  # noqa: N801 - avoid shadowing the builtin IndexError
    """Base of every Index domain error; ``str()`` is a message safe to show users."""


class NotFound(IndexError_):
    def __init__(self, what: str, name: object) -> None:
        self.name = name
        super().__init__(f"{what} {name!s} not found")


class UserNotFound(NotFound):
    def __init__(self, name: object) -> None:
        super().__init__("user", name)


class NamespaceNotFound(NotFound):
    def __init__(self, name: object) -> None:
        super().__init__("namespace", name)


class OrganisationNotFound(NotFound):
    def __init__(self, name: object) -> None:
        super().__init__("organisation", name)


class TeamNotFound(NotFound):
    def __init__(self, name: object) -> None:
        super().__init__("team", name)


class RepositoryNotFound(NotFound):
    def __init__(self, name: object) -> None:
        super().__init__("repository", name)


class AccessTokenNotFound(NotFound):
    def __init__(self, name: object) -> None:
        super().__init__("access token", name)


class RegistryNotFound(NotFound):
    def __init__(self, name: object) -> None:
        super().__init__("registry", name)


class InvitationNotFound(NotFound):
    def __init__(self, name: object) -> None:
        super().__init__("invitation", name)


class InvitationInvalid(IndexError_):
    """An invitation link that is unknown, expired, used or revoked (one answer for all)."""

    def __init__(self) -> None:
        super().__init__("this invitation is not valid: it expired, was used or was revoked")


class Conflict(IndexError_):
    def __init__(self, what: str, name: object) -> None:
        self.name = name
        super().__init__(f"{what} {name!s} already exists")


class UsernameTaken(Conflict):
    def __init__(self, name: object) -> None:
        super().__init__("user or namespace", name)


class NamespaceTaken(Conflict):
    def __init__(self, name: object) -> None:
        super().__init__("namespace", name)


class RepositoryExists(Conflict):
    def __init__(self, name: object) -> None:
        super().__init__("repository", name)


class TeamExists(Conflict):
    def __init__(self, name: object) -> None:
        super().__init__("team", name)


class RegistryExists(Conflict):
    def __init__(self, name: object) -> None:
        super().__init__("registry", name)


class StateConflict(Conflict):
    """Well-formed input that the current state refuses (an email address in use, the last
    owner of an organisation, a robot asked to hold a password or administrator rights);
    ``field`` names the input concerned."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.name = None
        IndexError_.__init__(self, message)


class TagImmutable(Conflict):
    """The tag matches an immutable tag pattern of its repository: it is never deleted."""

    def __init__(self, repository: str, tag: str, pattern: str) -> None:
        self.repository, self.tag, self.pattern = repository, tag, pattern
        self.name = None
        IndexError_.__init__(self, f"tag {tag} is immutable in {repository} (pattern {pattern})")


class Invalid(IndexError_):
    """A value breaks a rule; ``field`` names it, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class NameInvalid(Invalid):
    def __init__(self, name: object, reason: str = "invalid name") -> None:
        self.name = name
        super().__init__("name", f"{reason}: {name!r}")


class ReservedName(NameInvalid):
    def __init__(self, name: object) -> None:
        super().__init__(name, "name is reserved")


class PasswordInvalid(Invalid):
    def __init__(self, message: str) -> None:
        super().__init__("password", message)


class ScopeInvalid(Invalid):
    def __init__(self, message: str) -> None:
        super().__init__("scopes", message)


class RoleInvalid(Invalid):
    def __init__(self, role: object) -> None:
        super().__init__("role", f"role must be read, write or admin, not {role!r}")


class VisibilityInvalid(Invalid):
    def __init__(self, value: object) -> None:
        super().__init__("visibility", f"visibility must be public or private, not {value!r}")


class ValueInvalid(Invalid):
    """Any other invalid input (email, URL, kind, ...)."""


class FieldInvalid(Invalid):
    """A request field breaks a rule only the service can check (a webhook URL pointing
    inside): answered like the schemas' own checks, VALIDATION_FAILED naming the field."""


class AuthenticationFailed(IndexError_):
    def __init__(self, message: str = "invalid username or password") -> None:
        super().__init__(message)


class LoginThrottled(IndexError_):
    """Too many failed logins; try again in ``retry_after`` seconds (password not checked)."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(f"too many failed logins; try again in {self.retry_after} s")


class PullLimitReached(IndexError_):
    """The caller's pull rate limit is used up: ``limit`` pulls per ``window`` seconds; the
    window ends in ``retry_after`` seconds."""

    def __init__(self, limit: int, window: int, retry_after: int) -> None:
        self.limit, self.window = limit, window
        self.retry_after = max(1, int(retry_after))
        super().__init__(
            f"pull rate limit reached ({limit} pulls per {window} s); "
            f"try again in {self.retry_after} s"
        )


class PermissionDenied(IndexError_):
    def __init__(self, message: str = "permission denied") -> None:
        super().__init__(message)


class TokenRefused(PermissionDenied):
    """A token request refused with a reason the client shows (``scope``: the scope the
    refusal is about, for the challenge).

    Answered 401 with a Bearer challenge whose ``error_description`` (RFC 6750 section 3)
    is the message: docker and containers/image (skopeo, podman) print that description
    for a token endpoint's 401, and only the status of a 403."""

    def __init__(self, message: str, scope: str) -> None:
        super().__init__(message)
        self.scope = scope


class LibraryPushDenied(TokenRefused):
    """A push into the ``library`` organisation (one-part names) by someone who may not."""

    def __init__(self, full_name: str) -> None:
        super().__init__(
            f"{full_name}: only members of the library organisation may push here",
            f"repository:{full_name}:pull,push",
        )
        self.full_name = full_name


class KindRefused(TokenRefused):
    """A token request the registry's kind refuses outright (domain.policy.kind_refusal:
    anonymous at a private registry or a mirror, a push at a mirror, namespaces it does not
    serve)."""


class RegistryCredentialInvalid(IndexError_):
    def __init__(self) -> None:
        super().__init__("unknown registry or wrong credential")


class RegistryCallFailed(IndexError_):
    """A call of the Index to a registry failed; ``registry`` names it, ``reason`` says why
    (never a token)."""

    def __init__(self, registry: str, reason: str) -> None:
        self.registry = registry
        self.reason = reason
        super().__init__(f"registry {registry}: {reason}")


class RegistryUnavailable(RegistryCallFailed):
    """The registry could not be reached, timed out or answered 5xx (after retries)."""


class RegistryRefused(RegistryCallFailed):
    """The registry answered with an unexpected status (e.g. 401: token not accepted)."""


class DatabaseUnavailable(Exception):
    """PostgreSQL cannot be reached or the connection broke; safe to retry later (503).
    Raised by the stores' adapters (adapters/db.py), never by the domain's rules.

    ``committing``: the failure happened during ``COMMIT`` (the outcome is unknown);
    ``timed_out``: the server did not answer within its bound.
    """

    committing = False
    timed_out = False


class SigningKeysUnreadable(Exception):
    """The token signing key in the database cannot be decrypted with the password derived
    from ``INDEX_SECRET_KEY`` (the secret changed since the key was made). Configuration,
    not the caller's fault: the command line names the setting, the API answers 503."""

    def __init__(self) -> None:
        super().__init__(
            "INDEX_SECRET_KEY: the token signing key in the database cannot be decrypted with"
            " this secret (INDEX_SECRET_KEY changed since the key was made); set the previous"
            " INDEX_SECRET_KEY again, or run `wharf-index keys rotate` to sign with a new key"
            " (tokens signed by the old one stay valid until they expire)"
        )
