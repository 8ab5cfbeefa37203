"""The ``wharf-index`` command: migrate, serve, and user/org/team/registry administration.

Commands that call registries (``repo delete``, ``repo redrive``, ``tag delete``, ``tag
retention``, ``registry sync``) live in
cli_registry_ops.py, ``prune`` in cli_housekeeping.py, ``keys`` in cli_keys.py, ``worker``
(webhook deliveries) in cli_worker.py, ``namespace quota`` in cli_quotas.py, ``audit export``
in cli_audit.py, ``route`` and the registries' ``--weight``/``--upstream`` in cli_routes.py.
``migrate`` and ``serve`` also make sure there is a token signing key that ``INDEX_SECRET_KEY``
decrypts (a changed secret exits with status 2 and a message naming it).

Every command reads the ``INDEX_*`` settings first; bad configuration exits with status 2
and a message naming each bad variable. ``serve --config FILE`` merges a YAML file under
them (key path -> ``INDEX_<SECTION>_<KEY>``, the variable wins, :mod:`wharf_protocol.config`),
warns about unknown settings (exit 2 with ``--strict``) and runs gunicorn with the merged
environment. User errors (unknown user, name taken, bad
password...) print ``wharf-index: error: <message>`` on stderr and exit 1, never a
traceback. Passwords are read from stdin (``--password-stdin``), never from arguments.
Credentials and tokens are printed once, on stdout, and nowhere else.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from functools import partial
from typing import TextIO

from wharf_protocol import version_line
from wharf_protocol.config import ConfigFileError, Resolved, report, resolve

from . import (
    cli_audit,
    cli_housekeeping,
    cli_keys,
    cli_quotas,
    cli_registry_ops,
    cli_routes,
    cli_worker,
)
from .adapters import migrations
from .adapters.db import Database
from .context import build_context
from .domain import errors
from .domain.model import CATALOG_MODES, REGISTRY_KINDS, ROLES
from .domain.registry_client import RegistryClient
from .logconfig import configure_logging
from .services import accounts, orgs, registries
from .settings import ConfigError, Settings

PROG = "wharf-index"
PREFIX = "INDEX"
LIST_PAGE = 500  # rows per query of the list commands


class CommandError(Exception):
    """A user error to print without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Administer the Wharf Index.")
    parser.add_argument("--version", action="version", version=version_line(PROG))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("migrate", help="apply pending database migrations")
    serve = sub.add_parser("serve", help="run the Index under gunicorn (gthread workers)")
    serve.add_argument(
        "--config",
        metavar="FILE",
        help="YAML file: key path -> INDEX_<SECTION>_<KEY>; INDEX_* variables override it",
    )
    serve.add_argument(
        "--strict",
        action="store_true",
        help="refuse to start (exit 2) on unknown settings instead of warning",
    )
    serve.add_argument("--bind", help="HOST:PORT (default INDEX_BIND)")
    serve.add_argument("--workers", type=int, help="worker processes (default INDEX_WORKERS)")
    serve.add_argument("--threads", type=int, help="threads per worker (default INDEX_THREADS)")

    user = sub.add_parser("user", help="user administration").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    create = user.add_parser("create", help="create a user (password read from stdin)")
    create.add_argument("name")
    create.add_argument("--email", required=True)
    create.add_argument("--password-stdin", action="store_true", required=True)
    create.add_argument("--admin", action="store_true")
    user.add_parser("list", help="list users")
    setpw = user.add_parser("set-password", help="replace a password (read from stdin)")
    setpw.add_argument("name")
    setpw.add_argument("--password-stdin", action="store_true", required=True)
    for action, text in (
        ("delete", "delete a user, its namespace and repositories"),
        ("grant-admin", "make a user an administrator"),
        ("revoke-admin", "take administrator rights away"),
        ("disable", "block a user's logins and tokens"),
        ("enable", "unblock a user"),
    ):
        user.add_parser(action, help=text).add_argument("name")

    org = sub.add_parser("org", help="organisation administration").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    create = org.add_parser("create", help="create an organisation")
    create.add_argument("name")
    create.add_argument("--owner", required=True)
    create.add_argument("--email")
    member = org.add_parser("add-member", help="add a user to an organisation (or a team)")
    member.add_argument("org")
    member.add_argument("user")
    member.add_argument("--owner", action="store_true", help="make the user an owner")
    member.add_argument("--team", help="also add the user to this team")
    org.add_parser("list", help="list organisations")

    team = sub.add_parser("team", help="team administration").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    create = team.add_parser("create", help="create a team")
    create.add_argument("org")
    create.add_argument("team")
    create.add_argument("--role", choices=ROLES, required=True)
    create.add_argument(
        "--all-repositories",
        action="store_true",
        help="grant the role on every repository of the organisation",
    )
    grant = team.add_parser("grant", help="grant the team's role on a repository")
    grant.add_argument("org")
    grant.add_argument("team")
    grant.add_argument("repository", help="full name, e.g. acme/app")

    registry = sub.add_parser("registry", help="registry directory").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    add = registry.add_parser("add", help="record a registry; prints its credential once")
    add.add_argument("name", help="the registry's service name (token audience)")
    add.add_argument("--url", required=True)
    add.add_argument("--kind", choices=REGISTRY_KINDS, required=True)
    add.add_argument(
        "--namespace",
        action="append",
        default=[],
        dest="namespaces",
        help="a namespace this registry serves (repeatable)",
    )
    catalog_help = (
        "whether its /v2/_catalog lists each caller only what the caller may pull, so the"
        " catalog scope may go to everyone: auto (default: once it has called the Index's"
        " token verification or catalog question, as Wharf's registry does), filtered, or"
        " unfiltered (only administrators get it; the reference registry lists every name)"
    )
    add.add_argument("--catalog", choices=CATALOG_MODES, default="auto", help=catalog_help)
    cli_routes.add_chaining_arguments(add, update=False)
    update = registry.add_parser("update", help="change a registry's settings")
    update.add_argument("name")
    update.add_argument("--catalog", choices=CATALOG_MODES, help=catalog_help)
    update.add_argument(
        "--kind",
        choices=REGISTRY_KINDS,
        help="the registry's kind: who may pull and push there (README, 'Registry kinds')",
    )
    cli_routes.add_chaining_arguments(update, update=True)
    registry.add_parser("list", help="list registries")
    registry.add_parser("remove", help="forget a registry").add_argument("name")
    registry.add_parser(
        "rotate-credential", help="replace a registry's credential; prints the new one once"
    ).add_argument("name")
    cli_registry_ops.add_parsers(sub, registry)
    cli_housekeeping.add_parsers(sub)
    cli_keys.add_parsers(sub)
    cli_worker.add_parsers(sub)
    cli_quotas.add_parsers(sub)
    cli_audit.add_parsers(sub)
    cli_routes.add_parsers(sub)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    registry_client: RegistryClient | None = None,
) -> int:
    """Run the command line; return the exit status (0 ok, 1 user error, 2 usage/config).

    ``registry_client`` replaces the HTTP client for registries (tests)."""
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    environ = os.environ if environ is None else environ
    if args.command == "serve":
        configured = _configure_serve(args, environ, stderr)
        if isinstance(configured, int):
            return configured
        settings, environ = configured
    else:
        try:
            settings = Settings.from_env(environ)
        except ConfigError as exc:
            print(f"{PROG}: {exc}", file=stderr)
            return 2
    try:
        return _dispatch(args, settings, stdin, stdout, environ, registry_client)
    except (CommandError, errors.IndexError_, migrations.MigrationError) as exc:
        print(f"{PROG}: error: {exc}", file=stderr)
        return 1
    except errors.DatabaseUnavailable as exc:
        print(f"{PROG}: error: database unavailable: {exc}", file=stderr)
        return 1
    except errors.SigningKeysUnreadable as exc:
        print(f"{PROG}: {exc}", file=stderr)
        return 2


def configure(environ: Mapping[str, str], config: str | None = None) -> Resolved:
    """Merge the YAML file ``config`` under ``environ`` and parse (ConfigFileError: unusable)."""
    return resolve(PREFIX, environ, Settings.from_env, file=config)


def _configure_serve(
    args, environ: Mapping[str, str], stderr
) -> tuple[Settings, dict[str, str]] | int:
    """Merge ``--config`` under ``environ`` (INDEX_* wins) and parse it, reporting unknown
    settings (errors with ``--strict``); return (settings, merged environment) or exit 2."""
    try:
        resolved = configure(environ, args.config)
    except ConfigFileError as exc:
        print(f"{PROG}: {exc}", file=stderr)
        return 2
    status = report(PROG, resolved, args.strict, stderr)
    if status is not None:
        return status
    return resolved.settings, resolved.environ


def _dispatch(args, settings: Settings, stdin, stdout, environ, registry_client) -> int:
    """Run a handler ``(uow, args, stdin, stdout)``; ``args.context`` is the command's
    IndexContext (built as create_app builds the app's: context.build_context)."""
    if args.command == "migrate":
        return _migrate(settings, stdout)
    if args.command == "serve":
        return _serve(args, settings, environ)
    if args.command == "worker":
        return cli_worker.run(settings, args, stdout)
    db = Database.from_settings(settings, minconn=0, maxconn=1)
    try:
        args.context = build_context(settings, db=db, registry_client=registry_client)
        handler = _HANDLERS[(args.command, getattr(args, "action", None))]
        return handler(args.context.uow(), args, stdin, stdout) or 0
    finally:
        db.close()


def _migrate(settings: Settings, stdout) -> int:
    applied = migrations.migrate(settings.database_url)
    for migration in applied:
        print(f"applied {migration.name}", file=stdout)
    if not applied:
        print("database is up to date", file=stdout)
    key = cli_keys.check_signing_key(settings)
    print(f"token signing key {key.kid} ({key.algorithm})", file=stdout)
    return 0


def gunicorn_argv(args, settings: Settings) -> list[str]:
    """Return the gunicorn command line ``serve`` runs (separate for tests)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:wharf_index.gunicorn_conf",
        "--bind",
        args.bind or settings.bind,
        "--workers",
        str(args.workers or settings.workers),
        "--threads",
        str(args.threads or settings.threads),
        "wharf_index.wsgi:app",
    ]


def _serve(args, settings: Settings, environ) -> int:
    configure_logging(settings.log_level, settings.log_format)
    try:
        cli_keys.check_signing_key(settings)
    except errors.DatabaseUnavailable:
        pass  # the Index serves (503) until its database answers; the key is checked then
    argv = gunicorn_argv(args, settings)
    env = dict(os.environ if environ is None else environ)
    os.execve(sys.executable, argv, env)  # noqa: S606 - replace this process with gunicorn
    return 0  # pragma: no cover - execve does not return


def _read_password(stdin) -> str:
    line = stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise CommandError("no password on stdin")
    return password


def _user_create(uow, args, stdin, stdout):
    user = accounts.create_user(uow, args.name, args.email, _read_password(stdin), admin=args.admin)
    print(
        f"created user {user.username}" + (" (administrator)" if user.is_admin else ""), file=stdout
    )


def _every(list_page, key):
    """Every item of a keyset listing (``list_page(after=, limit=)``), page by page."""
    after, size = None, LIST_PAGE
    while True:
        page = list_page(after=after, limit=size)
        yield from page
        if len(page) < size:
            return
        after = key(page[-1])


def _user_list(uow, args, stdin, stdout):
    users = partial(accounts.list_users, uow, robots=True)
    for user in _every(users, lambda user: user.username):
        flags = [
            f
            for f, on in (
                ("admin", user.is_admin),
                ("robot", user.is_robot),
                ("disabled", user.disabled),
            )
            if on
        ]
        print(f"{user.username}\t{user.email or '-'}\t{','.join(flags) or '-'}", file=stdout)


def _user_set_password(uow, args, stdin, stdout):
    accounts.set_password(uow, args.name, _read_password(stdin))
    print(f"password of {args.name} changed", file=stdout)


def _user_simple(action):
    def handler(uow, args, stdin, stdout):
        if action == "delete":
            accounts.delete_user(uow, args.name)
        elif action in ("grant-admin", "revoke-admin"):
            accounts.set_admin(uow, args.name, action == "grant-admin")
        else:
            accounts.set_disabled(uow, args.name, action == "disable")
        print(f"{action}: {args.name}", file=stdout)

    return handler


def _org_create(uow, args, stdin, stdout):
    org = orgs.create_org(uow, args.name, owner=args.owner, email=args.email)
    print(f"created organisation {org.name} (owner {args.owner})", file=stdout)


def _org_add_member(uow, args, stdin, stdout):
    orgs.add_member(uow, args.org, args.user, owner=args.owner)
    if args.team:
        orgs.add_team_member(uow, args.org, args.team, args.user)
    print(f"added {args.user} to {args.org}" + (f"/{args.team}" if args.team else ""), file=stdout)


def _org_list(uow, args, stdin, stdout):
    for org in _every(partial(orgs.list_orgs, uow), lambda org: org.name):
        print(org.name, file=stdout)


def _team_create(uow, args, stdin, stdout):
    team = orgs.create_team(
        uow, args.org, args.team, args.role, all_repositories=args.all_repositories
    )
    scope = "all repositories" if team.all_repositories else "granted repositories"
    print(f"created team {args.org}/{team.name} ({team.role} on {scope})", file=stdout)


def _team_grant(uow, args, stdin, stdout):
    orgs.grant_repository(uow, args.org, args.team, args.repository)
    print(f"granted {args.org}/{args.team} on {args.repository}", file=stdout)


def _registry_add(uow, args, stdin, stdout):
    registry, credential = registries.add_registry(
        uow,
        args.name,
        args.url,
        args.kind,
        args.namespaces,
        catalog=args.catalog,
        weight=args.weight,
        upstream=args.upstream,
    )
    print(
        f"registry {registry.name} added; its credential (shown once, keep it secret):", file=stdout
    )
    print(credential, file=stdout)


def _registry_rotate_credential(uow, args, stdin, stdout):
    credential = registries.rotate_credential(uow, args.name)
    print(
        f"registry {args.name}: new credential (shown once; the old one no longer works):",
        file=stdout,
    )
    print(credential, file=stdout)


def _registry_update(uow, args, stdin, stdout):
    options = cli_routes.update_options(args)
    if args.kind is not None:
        options["kind"] = args.kind
    registry = registries.update_registry(uow, args.name, **options)
    print(
        f"registry {registry.name}: kind {registry.kind}, catalog {_catalog(registry)},"
        f" weight {registry.weight}, upstream {registry.upstream or '-'}",
        file=stdout,
    )


def _catalog(registry) -> str:
    """``filtered``/``unfiltered``, or ``auto:`` and what that makes of it now."""
    if registry.catalog != "auto":
        return registry.catalog
    return "auto:" + ("filtered" if registry.filters_catalog else "unfiltered")


def _registry_list(uow, args, stdin, stdout):
    for registry in registries.list_registries(uow):
        namespaces = ",".join(registry.namespaces) or "-"
        print(
            f"{registry.name}\t{registry.kind}\t{registry.url}\t{namespaces}\t{_catalog(registry)}"
            f"\t{registry.weight}\t{registry.upstream or '-'}",
            file=stdout,
        )


def _registry_remove(uow, args, stdin, stdout):
    registries.remove_registry(uow, args.name)
    print(f"registry {args.name} removed", file=stdout)


_HANDLERS = {
    ("user", "create"): _user_create,
    ("user", "list"): _user_list,
    ("user", "set-password"): _user_set_password,
    **{
        ("user", a): _user_simple(a)
        for a in ("delete", "grant-admin", "revoke-admin", "disable", "enable")
    },
    ("org", "create"): _org_create,
    ("org", "add-member"): _org_add_member,
    ("org", "list"): _org_list,
    ("team", "create"): _team_create,
    ("team", "grant"): _team_grant,
    ("registry", "add"): _registry_add,
    ("registry", "list"): _registry_list,
    ("registry", "update"): _registry_update,
    ("registry", "remove"): _registry_remove,
    ("registry", "rotate-credential"): _registry_rotate_credential,
    **cli_registry_ops.HANDLERS,
    **cli_housekeeping.HANDLERS,
    **cli_keys.HANDLERS,
    **cli_quotas.HANDLERS,
    **cli_audit.HANDLERS,
    **cli_routes.HANDLERS,
}
