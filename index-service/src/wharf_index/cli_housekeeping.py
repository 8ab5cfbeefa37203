"""``wharf-index prune [--dry-run]``: the housekeeping pruning by hand (wired into cli.py).

Deletes the records of issued tokens expired more than ``INDEX_TOKEN_LEEWAY`` ago, the
processed event ids older than ``INDEX_EVENT_RETENTION`` and the retired signing keys past
their publication, ``INDEX_PRUNE_BATCH`` rows per
transaction, until none is left, and prints one count per table; ``--dry-run`` prints what
would be deleted and deletes nothing (services/housekeeping.py). The served Index also runs
it every ``INDEX_PRUNE_INTERVAL`` seconds.
"""

from __future__ import annotations

from .services import housekeeping


def add_parsers(sub) -> None:
    """Add ``prune`` to the commands."""
    prune = sub.add_parser("prune", help="delete expired token records, old event ids, old keys")
    prune.add_argument("--dry-run", action="store_true", help="count, delete nothing")


def prune(uow, args, stdin, stdout):
    report = housekeeping.prune_with_settings(uow, args.context.settings, dry_run=args.dry_run)
    for line in report.lines():
        print(line, file=stdout)


HANDLERS = {("prune", None): prune}
