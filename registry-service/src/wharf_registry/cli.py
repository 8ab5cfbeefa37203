"""The ``wharf-registry`` command: ``serve [--config FILE] [--strict] ...`` and ``gc``.

``gc`` reads the same settings (file and environment) and runs one online garbage
collection (:mod:`wharf_registry.gc`); progress goes to stderr when it is a terminal, the
summary to stdout. The ``delete`` events of manifests it deletes (``--delete-untagged``) go
to the storage outbox, which the serving registry delivers.

``serve`` merges the configuration file (the reference registry's YAML layout, see
:mod:`wharf_registry.distribution_config`) under the ``REGISTRY_*`` environment, which wins,
and checks the result first: ``Settings.from_env`` and the storage driver's parameters, so
that a bad setting stops start-up with one message naming it (exit status 2, no traceback per
worker). Unknown and unsupported settings are warnings, errors with ``--strict``. Then it
replaces itself with gunicorn (gthread workers, settings in :mod:`wharf_registry.gunicorn_conf`)
serving ``wharf_registry.wsgi:app`` with the merged environment, so every worker reads the
same settings. The process id stays the same, so a supervisor that started
``wharf-registry serve`` signals gunicorn's master directly (SIGTERM: graceful stop).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from wharf_protocol import version_line
from wharf_protocol.config import ConfigFileError, Resolved, report, resolve

from . import gunicorn_conf
from .distribution_config import DISTRIBUTION, PREFIX
from .events.emitter import outbox_emitter
from .events.wharf_events import record_gc_run
from .gc import Collector, GcOptions, GcRefused, GcSummary
from .settings import Settings, parse_duration
from .storage import StorageConfigError, create_driver
from .storage.base import StorageError

APP = "wharf_registry.wsgi:app"
PROG = "wharf-registry"
EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="wharf-registry", description="The Wharf Registry.")
    parser.add_argument("--version", action="version", version=version_line("wharf-registry"))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the registry API under gunicorn")
    serve.add_argument(
        "--config",
        metavar="FILE",
        help="YAML file in the reference registry's layout; REGISTRY_* variables override it",
    )
    serve.add_argument(
        "--strict",
        action="store_true",
        help="refuse to start (exit 2) on unknown or unsupported settings instead of warning",
    )
    serve.add_argument(
        "--bind",
        metavar="HOST:PORT",
        help="address to listen on (default: REGISTRY_HTTP_ADDR or 0.0.0.0:5000)",
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        default=gunicorn_conf.DEFAULT_WORKERS,
        metavar="N",
        help="worker processes (default: %(default)s)",
    )
    serve.add_argument(
        "--threads",
        type=_positive,
        default=gunicorn_conf.DEFAULT_THREADS,
        metavar="N",
        help="threads per worker (default: %(default)s)",
    )
    serve.add_argument(
        "--timeout",
        type=_positive,
        default=gunicorn_conf.DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="restart a worker silent for this long (default: %(default)s)",
    )
    gc = commands.add_parser(
        "gc",
        help="free blobs no manifest references and stale uploads (online: pushes go on)",
    )
    gc.add_argument("--config", metavar="FILE", help="the same configuration file as serve")
    gc.add_argument(
        "--strict", action="store_true", help="refuse unknown or unsupported settings (exit 2)"
    )
    gc.add_argument(
        "--dry-run", action="store_true", help="report what would be freed; delete nothing"
    )
    gc.add_argument(
        "--delete-untagged",
        action="store_true",
        default=None,
        help="also delete manifests no tag keeps (directly, as an index's child or a "
        "referrer) and not used within the grace window (default: REGISTRY_GC_DELETE_UNTAGGED)",
    )
    gc.add_argument(
        "--grace",
        type=_duration,
        metavar="DURATION",
        help="keep unreferenced blobs used more recently than this "
        "(default: REGISTRY_GC_GRACE, 1h)",
    )
    gc.add_argument(
        "--uploads-older-than",
        type=_duration,
        metavar="DURATION",
        help="purge upload sessions started before this (default: "
        "REGISTRY_GC_UPLOADS_OLDER_THAN, 24h)",
    )
    return parser


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def gunicorn_argv(args: argparse.Namespace, settings: Settings) -> list[str]:
    """Return the gunicorn command line for ``serve`` (run with this interpreter)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:wharf_registry.gunicorn_conf",
        "--bind",
        args.bind or settings.http_addr,
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--timeout",
        str(args.timeout),
        APP,
    ]


def configure(environ: Mapping[str, str], config: str | None = None) -> Resolved:
    """Merge ``config`` under ``environ`` and parse; ConfigFileError for an unusable file."""
    return resolve(PREFIX, environ, Settings.from_env, file=config, dialect=DISTRIBUTION)


def storage_problem(resolved: Resolved) -> str | None:
    """Build the storage driver once, as each worker will; return what is wrong, naming it."""
    settings = resolved.settings
    try:
        create_driver(settings.storage_driver, settings.storage_params)
    except (StorageConfigError, ValueError) as exc:
        param = getattr(exc, "param", None)
        driver = settings.storage_driver.upper()
        name = f"{PREFIX}_STORAGE_{driver}_{param.upper()}" if param else f"{PREFIX}_STORAGE"
        return f"{resolved.describe(name)}: {exc}"
    return None


def serve(args: argparse.Namespace) -> int:
    """Validate the settings, then exec gunicorn; return 2 on a configuration error."""
    try:
        resolved = configure(os.environ, args.config)
    except ConfigFileError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    status = report(PROG, resolved, args.strict, sys.stderr)
    if status is not None:
        return status
    problem = storage_problem(resolved)
    if problem is not None:
        print(f"{PROG}: invalid registry configuration: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    argv = gunicorn_argv(args, resolved.settings)
    sys.stdout.flush()
    sys.stderr.flush()
    # noqa reason: replace this process with gunicorn (same pid), with the merged settings
    os.execve(argv[0], argv, resolved.environ)  # noqa: S606
    return 0  # pragma: no cover - execve does not return


def gc(args: argparse.Namespace) -> int:
    """Run one garbage collection with the serving configuration; print the summary."""
    try:
        resolved = configure(os.environ, args.config)
    except ConfigFileError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    status = report(PROG, resolved, args.strict, sys.stderr)
    if status is not None:
        return status
    problem = storage_problem(resolved)
    if problem is not None:
        print(f"{PROG}: invalid registry configuration: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    settings = resolved.settings
    driver = create_driver(settings.storage_driver, settings.storage_params)
    options = GcOptions.from_settings(
        settings,
        dry_run=args.dry_run,
        delete_untagged=args.delete_untagged,
        grace=args.grace,
        uploads_older_than=args.uploads_older_than,
    )
    tty = sys.stderr.isatty()
    events = outbox_emitter(settings, driver)
    try:
        summary = Collector(driver, options, _progress if tty else None, events=events).run()
    except GcRefused as exc:
        print(f"{PROG} gc: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if tty:
        print(file=sys.stderr)
    try:  # the Index's audit log (registry.gc), through the outbox; the run happened anyway
        record_gc_run(summary.as_json(), driver=driver, settings=settings)
    except StorageError as exc:
        print(f"{PROG} gc: the run could not be recorded for the Index: {exc}", file=sys.stderr)
    verb = "would free" if summary.dry_run else "freed"
    print(
        f"{verb} {summary.blobs_deleted} blobs, {summary.manifests_deleted} manifests, "
        f"{_size(summary.bytes_freed)}; {summary.uploads_purged} upload sessions "
        f"{'would be ' if summary.dry_run else ''}purged; {summary.blobs_marked} blobs in use"
    )
    return 0


def _progress(phase: str, summary: GcSummary) -> None:
    sys.stderr.write(
        f"\r{phase}: {summary.manifests_seen} manifests, {summary.blobs_marked or '-'} marked, "
        f"{summary.manifests_deleted} manifests deleted, {summary.blobs_seen} blobs seen, "
        f"{summary.blobs_deleted} deleted ({_size(summary.bytes_freed)}), "
        f"{summary.uploads_purged} uploads purged   "
    )
    sys.stderr.flush()


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wharf-registry`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "gc":
        return gc(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
