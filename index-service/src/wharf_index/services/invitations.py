"""Invitations to sign up: made by administrators, redeemed once (INDEX_SIGNUP=invite).

An invitation is a random token (256 bits, ``secrets.token_urlsafe``) handed out as a link
``/signup?invite=<token>``; it is shown once, when made, and only its HMAC is stored
(credentials.hash_secret with :data:`PURPOSE`). It is usable until it expires (default
:data:`DEFAULT_DAYS` days), is revoked, or has made one account. When it names an email
address, the account must use that address. Redeeming creates the account exactly as an
administrator would (accounts.create_user: the same name, reserved-name, email and password
rules) and marks the invitation used in the same transaction, with the invitation's row
locked: two uses of one link make one account.

Audited: ``invitation.create``, ``invitation.revoke``, ``invitation.redeem``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from ..domain import errors
from ..domain.model import ANONYMOUS, Invitation, Principal, User
from . import accounts, audit, credentials
from .principals import principal_for
from .unit_of_work import UnitOfWork

PURPOSE = b"wharf-index.invitation.v1"
DEFAULT_DAYS = 7
MAX_DAYS = 90
MAX_TOKEN_LENGTH = 100


def _hash(token: str) -> bytes:
    return credentials.hash_secret(PURPOSE, token)


def _require_admin(actor: Principal) -> None:
    if not actor.is_admin or actor.scopes is not None:
        raise errors.PermissionDenied("administrators only")


def create_invitation(
    uow: UnitOfWork,
    actor: Principal,
    *,
    email: str | None = None,
    expires_in_days: int = DEFAULT_DAYS,
) -> tuple[Invitation, str]:
    """Make an invitation; return it and its token (shown once). Administrators only.

    Raises PermissionDenied, ValueInvalid (email, expires_in_days)."""
    _require_admin(actor)
    email = accounts.check_email(email) if email else None
    if not isinstance(expires_in_days, int) or not 1 <= expires_in_days <= MAX_DAYS:
        raise errors.ValueInvalid("expires_in_days", f"expiry must be 1..{MAX_DAYS} days")
    token = secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + timedelta(days=expires_in_days)
    with uow:
        creator = actor.user.id if actor.user is not None and actor.user.id > 0 else None
        invitation = uow.invitations.create(_hash(token), email, creator, expires_at)
        audit.record(
            uow,
            actor,
            "invitation.create",
            "invitation",
            str(invitation.id),
            detail={"email": email, "expires_at": expires_at.isoformat()},
        )
        return invitation, token


def list_invitations(
    uow: UnitOfWork, actor: Principal, *, after: int | None = None, limit: int = 100
) -> list[Invitation]:
    """Invitations, newest first (administrators only)."""
    _require_admin(actor)
    with uow.reading():
        return uow.invitations.list(after=after, limit=limit)


def revoke_invitation(uow: UnitOfWork, actor: Principal, invitation_id: int) -> None:
    """Revoke an invitation (administrators only); idempotent, also for used ones.

    Raises InvitationNotFound, PermissionDenied."""
    _require_admin(actor)
    with uow:
        invitation = uow.invitations.get(invitation_id)
        if uow.invitations.revoke(invitation.id):
            audit.record(uow, actor, "invitation.revoke", "invitation", str(invitation.id))


def check_invitation(uow: UnitOfWork, token: str) -> Invitation:
    """The usable invitation of ``token``; InvitationInvalid for unknown, expired, used and
    revoked ones alike."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH:
        raise errors.InvitationInvalid()
    with uow.reading():
        found = uow.invitations.usable_by_hash(_hash(token))
    if found is None:
        raise errors.InvitationInvalid()
    return found


def redeem_invitation(
    uow: UnitOfWork, token: str, username: str, email: str, password: str
) -> User:
    """Create an account with an invitation and use it up; return the new user.

    Raises InvitationInvalid, ValueInvalid (an email other than the invitation's), and what
    accounts.create_user raises (NameInvalid/ReservedName, UsernameTaken, StateConflict,
    PasswordInvalid)."""
    check_invitation(uow, token)  # cheap refusal before hashing the password
    with uow:
        invitation = uow.invitations.usable_by_hash(_hash(token), lock=True)
        if invitation is None:
            raise errors.InvitationInvalid()
        if invitation.email and accounts.check_email(email).lower() != invitation.email.lower():
            raise errors.ValueInvalid("email", "use the address the invitation was sent to")
        user = accounts.create_user(uow, username, email, password, actor=ANONYMOUS)
        uow.invitations.mark_used(invitation.id, user.id)
        audit.record(
            uow,
            principal_for(uow, user),
            "invitation.redeem",
            "invitation",
            str(invitation.id),
            detail={"user": user.username},
        )
        return user


def sign_up(uow: UnitOfWork, username: str, email: str, password: str) -> User:
    """Create an account for a visitor (INDEX_SIGNUP=open): accounts.create_user's rules,
    never an administrator, never an administrator-only name."""
    return accounts.create_user(uow, username, email, password, actor=ANONYMOUS)
