"""``wharf-index`` commands that call registries: ``repo delete``, ``repo redrive``,
``tag delete``, ``tag retention``, ``registry sync`` (wired into cli.py; kept apart so
cli.py stays the size of a page).

- ``repo delete NAME``: scenario C as the operator (services/deletion.py). Exit 0 when the
  repository is deleted everywhere; 1 when a registry could not be reached (the
  repository stays ``deleting``; ``repo redrive`` or the Index's redrive thread finishes it).
- ``repo redrive``: drive every deletion stuck in ``deleting`` now. Exit 1 while some remain.
- ``tag delete NAME:TAG``: delete a tag at the registries holding the repository, then
  here (services/tag_deletion.py), as the operator. Exit 1 with the error when the tag is
  unknown or immutable, or a registry could not be reached (nothing deleted then).
- ``tag retention [--dry-run]``: apply every repository's retention rules now
  (services/retention.py); ``--dry-run`` lists what would be deleted. Exit 1 when a
  registry could not be reached for some repository.
- ``registry sync NAME [--dry-run] [--every SECONDS]``: services/sync.py; prints one line per
  change and a summary. ``--every`` repeats forever (a failed run is reported and the next
  one still happens), as an alternative to cron.
"""

from __future__ import annotations

import argparse
import sys
import time

from .domain import errors
from .domain.model import SYSTEM
from .services import deletion, retention, sync, tag_deletion


class PendingDeletion(errors.IndexError_):
    """The deletion was accepted but a registry still has to be reached."""


def add_parsers(sub, registry) -> None:
    """Add ``repo delete|redrive`` to ``sub`` and ``sync`` to the ``registry`` actions."""
    repo = sub.add_parser("repo", help="repository administration").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    repo.add_parser("delete", help="delete a repository here and at its registries").add_argument(
        "name", help="full name, e.g. acme/app"
    )
    repo.add_parser("redrive", help="retry every deletion stuck in 'deleting'")
    tag = sub.add_parser("tag", help="tag administration").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    tag.add_parser("delete", help="delete a tag here and at its registries").add_argument(
        "reference", type=_tag_reference, metavar="NAME:TAG", help="e.g. acme/app:v1"
    )
    tag.add_parser("retention", help="apply the repositories' retention rules now").add_argument(
        "--dry-run", action="store_true", help="list what would be deleted, delete nothing"
    )
    sync_parser = registry.add_parser("sync", help="reconcile records with a registry")
    sync_parser.add_argument("name", help="the registry's name")
    sync_parser.add_argument("--dry-run", action="store_true", help="report, change nothing")
    sync_parser.add_argument(
        "--every", type=int, metavar="SECONDS", help="repeat every SECONDS seconds, forever"
    )


def repo_delete(uow, args, stdin, stdout):
    result = deletion.request_deletion(uow, args.context.agent, SYSTEM, args.name)
    if not result.completed:
        raise PendingDeletion(
            f"{args.name} is marked deleting but not deleted yet "
            f"({result.error}); `wharf-index repo redrive` retries"
        )
    print(f"deleted {args.name}", file=stdout)


def _tag_reference(raw: str) -> tuple[str, str]:
    name, colon, tag = raw.rpartition(":")
    if not colon or not name or not tag or "/" in tag:
        raise argparse.ArgumentTypeError(f"expected NAME:TAG (e.g. acme/app:v1), got {raw!r}")
    return name, tag


def tag_delete(uow, args, stdin, stdout):
    name, tag = args.reference
    record = tag_deletion.delete_tag(uow, args.context.agent, SYSTEM, name, tag)
    print(f"deleted {name}:{tag} ({record.digest})", file=stdout)


def tag_retention(uow, args, stdin, stdout):
    if args.dry_run:
        for name, item in retention.preview_all(uow):
            print(f"would delete {name}:{item.tag} ({', '.join(item.rules)})", file=stdout)
        return 0
    report = retention.run(uow, args.context.agent)
    for line in report.lines():
        print(line, file=stdout)
    return 1 if report.failed else 0


def repo_redrive(uow, args, stdin, stdout):
    results = deletion.redrive(uow, args.context.agent, due_only=False)
    for result in results:
        name = result.repository.full_name
        print(
            f"deleted {name}" if result.completed else f"still deleting {name}: {result.error}",
            file=stdout,
        )
    remaining = sum(not r.completed for r in results)
    print(f"{len(results) - remaining} deleted, {remaining} still deleting", file=stdout)
    return 1 if remaining else 0


def registry_sync(uow, args, stdin, stdout, *, sleep=time.sleep, stderr=None):
    agent = args.context.agent
    while True:
        try:
            report = sync.sync(uow, agent, args.name, dry_run=args.dry_run)
        except (errors.IndexError_, errors.DatabaseUnavailable) as exc:
            if not args.every:
                raise
            print(f"wharf-index: error: {exc}", file=stderr or sys.stderr)
        else:
            for line in report.lines():
                print(line, file=stdout)
            print(report.summary(), file=stdout)
        if not args.every:
            return 0
        stdout.flush()
        sleep(args.every)


HANDLERS = {
    ("repo", "delete"): repo_delete,
    ("repo", "redrive"): repo_redrive,
    ("tag", "delete"): tag_delete,
    ("tag", "retention"): tag_retention,
    ("registry", "sync"): registry_sync,
}
