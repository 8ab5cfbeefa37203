"""``wharf-index audit export``: the audit log as JSON lines (wired into cli.py).

::

    wharf-index audit export [--since TIME] [--until TIME] [--action A]... [--output FILE]

One JSON object per entry (services/audit_log.export_line: ``id``, ``at``, ``actor_id``,
``actor``, ``action``, ``target_type``, ``target``, ``namespace_id``, ``repository_id``,
``detail``, ``request_id``, ``remote_addr``), oldest first, entries with ``since <= at <
until``; ``--action`` (repeatable) keeps only those actions. Rows come through a server-side
cursor, so memory stays flat however long the log. TIME is RFC 3339 / ISO 8601
(``2026-01-31T12:00:00Z``; without an offset it is UTC; a date alone is its midnight UTC).
``--output`` writes the file whole or not at all (a temporary file beside it, renamed at the
end); without it, lines go to stdout as they come.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from datetime import UTC, datetime

from .services import audit_log

BATCH = 1000  # rows per fetch of the server-side cursor


def add_parsers(sub) -> None:
    """Add ``audit export`` to the commands."""
    audit = sub.add_parser("audit", help="the audit log").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    export = audit.add_parser("export", help="write audit entries as JSON lines, oldest first")
    export.add_argument("--since", type=_time, metavar="TIME", help="entries at or after TIME")
    export.add_argument("--until", type=_time, metavar="TIME", help="entries before TIME")
    export.add_argument(
        "--action",
        dest="actions",
        action="append",
        default=[],
        metavar="A",
        help="only entries with this action (repeatable), e.g. repository.push",
    )
    export.add_argument("--output", metavar="FILE", help="write to FILE (default stdout)")


def _time(text: str) -> datetime:
    """Parse RFC 3339 / ISO 8601; naive means UTC. argparse reports a ValueError as usage."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an RFC 3339 time (e.g. 2026-01-31T12:00:00Z)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def export(uow, args, stdin, stdout):
    entries = audit_log.export(
        uow, since=args.since, until=args.until, actions=args.actions, batch=BATCH
    )
    if not args.output:
        _write(entries, stdout)
        return 0
    directory = os.path.dirname(os.path.abspath(args.output))
    fd, partial = tempfile.mkstemp(prefix=".audit-export-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            _write(entries, out)
        os.replace(partial, args.output)
    except BaseException:
        os.unlink(partial)
        raise
    return 0


def _write(entries, out) -> None:
    for record in entries:
        out.write(json.dumps(audit_log.export_line(record), separators=(",", ":")) + "\n")


HANDLERS = {("audit", "export"): export}
