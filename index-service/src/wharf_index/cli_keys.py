"""``wharf-index keys rotate|list``: the token signing keys (wired into cli.py).

- ``keys rotate``: a new key (``INDEX_TOKEN_ALGORITHM``) signs from now on; the old one is
  retired and stays published until the last token it signed has expired (plus the
  leeway), then pruning deletes it (services/signing_keys.py). Every served worker signs
  with the new key within seconds, without a restart. A registry reading a static
  certificate bundle (the reference registry's ``auth.token.rootcertbundle``) needs the
  bundle fetched again from ``/.well-known/token-certs.pem`` and a restart.
- ``keys list``: kid, algorithm, created, retired, published until -- never a private key.

:func:`check_signing_key` is what ``migrate`` and ``serve`` run: it makes the first key
when there is none and fails with a message naming ``INDEX_SECRET_KEY`` when the stored
key cannot be decrypted.
"""

from __future__ import annotations

import psycopg2.errors
from wharf_protocol.keys import SigningKey

from .adapters.db import Database
from .adapters.unit_of_work import PgUnitOfWork
from .domain import errors
from .services import signing_keys
from .services.registry_agent import TOKEN_TTL as AGENT_TOKEN_TTL


def add_parsers(sub) -> None:
    """Add ``keys rotate|list`` to the commands."""
    keys = sub.add_parser("keys", help="token signing keys").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    keys.add_parser("rotate", help="sign with a new key; the old one stays published a while")
    keys.add_parser("list", help="list the signing keys (never their private halves)")


class NotMigrated(errors.IndexError_):
    """The database lacks the signing keys' table."""


def check_signing_key(settings) -> SigningKey:
    """The active signing key, made when there is none (SigningKeysUnreadable,
    DatabaseUnavailable, NotMigrated)."""
    db = Database.from_settings(settings, minconn=0, maxconn=1)
    try:
        ring = signing_keys.KeyRing.from_settings(settings, lambda: PgUnitOfWork(db))
        return ring.signing_key()
    except psycopg2.errors.UndefinedTable:
        raise NotMigrated("the database is not migrated: run `wharf-index migrate`") from None
    finally:
        db.close()


def _time(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else "-"


def rotate(uow, args, stdin, stdout):
    settings = args.context.settings
    retired, key = signing_keys.rotate(
        uow,
        signing_keys.key_password(settings.secret_key),
        settings.token_algorithm,
        signing_keys.published_for(settings, AGENT_TOKEN_TTL),
    )
    print(f"signing with {key.kid} ({key.algorithm})", file=stdout)
    if retired:
        print(f"retired {retired}: published until its last token has expired", file=stdout)


def list_keys(uow, args, stdin, stdout):
    print("kid\talgorithm\tcreated\tretired\tpublished_until", file=stdout)
    for key in signing_keys.list_keys(uow):
        until = _time(key.published_until) if key.retired_at else "(active)"
        row = (key.kid, key.algorithm, _time(key.created_at), _time(key.retired_at), until)
        print("\t".join(row), file=stdout)


HANDLERS = {("keys", "rotate"): rotate, ("keys", "list"): list_keys}
